// Social login + jwt-refresh: users who never had a password sign in through an identity
// provider, and the app starts a jwt-refresh session for whoever the provider vouches for.
// Run: npm run build && PORT=3000 node examples/social-login/app.mjs
// then open http://127.0.0.1:3000/idp/authorize?login=alice
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { createJwtRefresh, createMemoryUserProvider, generateKeyPair } from 'jwt-refresh';
import { jwtRefreshPlugin } from 'jwt-refresh/fastify';
import { createMemoryStore } from 'jwt-refresh/stores/memory';

// Nobody has a passwordHash, so POST /api/login_check refuses every one of these users:
// the provider is the only way in.
const users = [];
const { privateKeyPem } = await generateKeyPair('ES256');
const jwtRefresh = await createJwtRefresh({
  jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
  store: createMemoryStore(),
  userProvider: createMemoryUserProvider(users),
});

// The stand-in identity provider. A real one authenticates the user its own way and answers
// the code exchange over a back channel; openid-client, arctic or passport do that exchange
// (with the `state` and PKCE checks) where this example calls redeemCode().
const pendingCodes = new Map();

function issueCode(login) {
  // Unguessable and short-lived: the code is the only thing the browser carries back.
  const code = randomBytes(32).toString('base64url');
  pendingCodes.set(code, { subject: `stand-in-idp|${login}`, login, expiresAt: Date.now() + 60_000 });
  return code;
}

function redeemCode(code) {
  const grant = pendingCodes.get(code);
  // Single use (RFC 6749 §4.1.2): a replayed code vouches for nobody.
  pendingCodes.delete(code);
  return grant !== undefined && grant.expiresAt > Date.now() ? grant : null;
}

const app = Fastify();
await app.register(jwtRefreshPlugin, { jwtRefresh }); // refresh, logout (invalidate), sessions
app.get('/api/me', { preHandler: app.requireAuth }, async (request) => request.auth?.claims);

app.get('/idp/authorize', async (request, reply) => {
  const login = String(request.query.login ?? '');
  if (!/^[\w-]{1,32}$/.test(login)) return reply.code(400).send({ error: 'invalid_request' });
  return reply.redirect(`/auth/callback?code=${issueCode(login)}`, 302);
});

app.get('/auth/callback', async (request, reply) => {
  // Only what the provider vouches for counts: a login typed into this URL proves nothing.
  const identity = redeemCode(String(request.query.code ?? ''));
  if (identity === null) return reply.code(401).send({ error: 'invalid_grant' });
  // Keyed by the provider's stable subject, not by a display name or e-mail that can change hands.
  let user = users.find((candidate) => candidate.id === identity.subject);
  if (user === undefined) {
    user = { id: identity.subject, identifier: identity.login, roles: ['ROLE_USER'] };
    users.push(user);
  }
  const session = await jwtRefresh.issueSession(user, {
    client: { userAgent: request.headers['user-agent'] ?? null, ip: request.ip },
    metadata: { login: 'stand-in-idp' },
  });
  // The same body POST /api/login_check sends, so clients treat both logins alike;
  // a token response is never cached (RFC 6749 §5.1).
  return reply.header('cache-control', 'no-store').send(session.responseBody);
});

const address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${address}`);

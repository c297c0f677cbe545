// Fastify + jwt-refresh: the token routes and a protected GET /api/me.
// Run: npm run build && PORT=3000 node examples/fastify/app.mjs
import Fastify from 'fastify';
import { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from 'jwt-refresh';
import { jwtRefreshPlugin } from 'jwt-refresh/fastify';
import { createMemoryStore } from 'jwt-refresh/stores/memory';

// A fresh key and an in-memory store: every restart logs everybody out.
const { privateKeyPem } = await generateKeyPair('ES256');
const passwordHasher = createScryptHasher();
const jwtRefresh = await createJwtRefresh({
  jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
  store: createMemoryStore(),
  userProvider: createMemoryUserProvider([
    { id: '1', identifier: 'demo', roles: ['ROLE_USER'], passwordHash: await passwordHasher.hash('demo') },
  ]),
  passwordHasher,
});

const app = Fastify();
await app.register(jwtRefreshPlugin, { jwtRefresh });
app.get('/api/me', { preHandler: app.requireAuth }, async (request) => request.auth?.claims);

const address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${address}`);

// The server of the protected-route row of `npm run bench`, run as a child process of
// bench/run.mjs like bench/server.mjs. Three HTTP servers on 127.0.0.1, measured one at a time:
//
//   Fastify 5 (port)       GET /api/me       ours: `app.requireAuth` of jwtRefreshPlugin over
//                                            createJwtRefresh with default options and
//                                            createSqliteStore, answering the claims as the
//                                            standalone server does (src/server/build-server.ts)
//                          GET /ceiling/me   the framework ceiling: the ceiling below behind a
//                                            bare Fastify route
//                          POST /api/login_check  setup: the access token every request presents
//   bare node:http (bare)  GET /api/me       THE ceiling: no framework, no library code
//
// The ceiling does what the library's default checks do, with node:crypto and better-sqlite3
// directly: Bearer header -> split the compact JWT -> JSON.parse of the header (alg must be
// ES256, typ absent or JWT) and of the payload (exp a number in the future, iat not in the
// future, sub a string) -> node:crypto.verify of the ES256 signature (P-1363 encoding) with a
// KeyObject made once -> the same three store reads as the library's revocation check
// (src/tokens/access-token-revocation.ts): the jti on the logout blocklist, the user's
// "log out everywhere" watermark, the session's (`family:<sid>`) watermark, each an indexed
// SELECT by primary key, on its own connection to the very SQLite file the store uses (WAL,
// so readers do not block each other) -> the claims as JSON with `cache-control: no-store`.
// Control over IPC: `stop`.
import { createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { jwtRefreshPlugin } from '../dist/adapters/fastify.js';
import { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from '../dist/index.js';
import { createSqliteStore } from '../dist/stores/sqlite.js';

if (typeof process.send !== 'function') {
  console.error('bench/protected-server.mjs is started by bench/run.mjs (it needs the IPC channel)');
  process.exit(2);
}
process.on('disconnect', () => process.exit(1));

const dbDir = process.env.BENCH_DB_DIR;
if (!dbDir) throw new Error('BENCH_DB_DIR is required');

const USER = { id: 'u-bench', identifier: 'bench', roles: ['ROLE_USER'] };
const passwordHasher = createScryptHasher({ cost: 2 ** 10 });
const user = { ...USER, passwordHash: await passwordHasher.hash('bench') };
const { privateKeyPem, publicKeyPem } = await generateKeyPair('ES256');
const filename = join(dbDir, 'jwt-refresh.sqlite');

// ---- ours ---------------------------------------------------------------------

const store = createSqliteStore({ filename });
await store.migrate?.();
const jwtRefresh = await createJwtRefresh({
  jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
  store,
  userProvider: createMemoryUserProvider([user]),
  passwordHasher,
  // Everything else default: loadUser off, no issuer/audience, clockSkew 0, revocation checks on.
});
const app = Fastify({ logger: false });
await app.register(jwtRefreshPlugin, { jwtRefresh });
// As src/server/build-server.ts serves it.
app.get('/api/me', { preHandler: app.requireAuth }, async (request, reply) =>
  reply.header('cache-control', 'no-store').send(request.auth?.claims),
);

// ---- the ceiling -----------------------------------------------------------------

const publicKey = createPublicKey(publicKeyPem);
const database = new Database(filename);
database.pragma('journal_mode = WAL');
database.pragma('busy_timeout = 5000');
const isBlocked = database.prepare('SELECT 1 FROM "refresh_tokens_blocklist" WHERE jti = ? AND expires_at > ?').pluck();
const revokedBefore = database.prepare('SELECT revoked_before FROM "refresh_tokens_watermarks" WHERE user_id = ?').pluck();

const parseJson = (segment) => {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
};

/** The verified, unrevoked claims of an `Authorization` header, or null (a 401). */
function verifyBearer(authorization) {
  if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return null;
  const token = authorization.slice(7);
  if (token.length > 8192) return null;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) return null;
  const header = parseJson(token.slice(0, first));
  if (header === null || header.alg !== 'ES256' || (header.typ !== undefined && header.typ !== 'JWT')) return null;
  const claims = parseJson(token.slice(first + 1, second));
  const nowMs = Date.now();
  const nowSeconds = Math.floor(nowMs / 1000);
  if (claims === null || typeof claims.exp !== 'number' || claims.exp <= nowSeconds || typeof claims.sub !== 'string') return null;
  if (typeof claims.iat === 'number' && claims.iat > nowSeconds) return null;
  const signature = Buffer.from(token.slice(second + 1), 'base64url');
  if (!verify('sha256', Buffer.from(token.slice(0, second)), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) return null;
  // The same three reads as the library's revocation check, in its order.
  if (typeof claims.jti === 'string' && isBlocked.get(claims.jti, nowMs) !== undefined) return null;
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : 0;
  const sid = typeof claims.sid === 'string' ? claims.sid : null;
  const userMark = revokedBefore.get(claims.sub);
  if (userMark !== undefined && (sid === null ? issuedAt <= Math.floor(userMark / 1000) : issuedAt < Math.floor(userMark / 1000)))
    return null;
  if (sid === null) return claims;
  const sessionMark = revokedBefore.get(`family:${sid}`);
  return sessionMark !== undefined && issuedAt <= Math.floor(sessionMark / 1000) ? null : claims;
}

const UNAUTHORIZED = JSON.stringify({ code: 401, message: 'Invalid JWT Token' });
const bare = createServer((request, response) => {
  const claims = request.method === 'GET' && request.url === '/api/me' ? verifyBearer(request.headers.authorization) : null;
  if (claims === null) {
    response.writeHead(401, { 'content-type': 'application/json; charset=utf-8' }).end(UNAUTHORIZED);
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(claims));
});
await new Promise((resolve) => bare.listen(0, '127.0.0.1', resolve));

// The framework ceiling: the same work behind a bare Fastify route.
app.get('/ceiling/me', async (request, reply) => {
  const claims = verifyBearer(request.headers.authorization);
  if (claims === null) return reply.code(401).type('application/json; charset=utf-8').send(UNAUTHORIZED);
  return reply.header('cache-control', 'no-store').send(claims);
});
await app.listen({ host: '127.0.0.1', port: 0 });

// ---- control over IPC ----------------------------------------------------------

process.on('message', async (message) => {
  if (message?.type !== 'stop') {
    process.send({ id: message?.id, ok: false, error: `unknown message ${message?.type}` });
    return;
  }
  await new Promise((resolve) => {
    bare.closeAllConnections();
    bare.close(resolve);
  });
  await app.close();
  await jwtRefresh.close();
  database.close();
  process.send({ id: message.id, ok: true, result: 'stopped' });
  setImmediate(() => process.exit(0));
});

process.send({ type: 'ready', port: app.server.address().port, ports: { bare: bare.address().port } });

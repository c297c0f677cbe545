// The benchmark server of the main row, run as a child process of bench/run.mjs so the
// load generator has its own core. Three HTTP servers in this one process (each measured
// alone, in turn):
//
//   bare node:http  POST /ceiling/refresh   THE ceiling: bench/ceiling.mjs on SQLite, no framework,
//                                           no library: one commit per request (the physical limit).
//   Fastify         POST /api/token/refresh jwt-refresh's route (the Fastify plugin, dist/), SQLite
//                                           store with group commit off.
//                   POST /ceiling/refresh   the same ceiling behind a bare Fastify route: what the
//                                           framework costs.
//                   POST /bridge/refresh    diagnostic, only with BENCH_BRIDGE=1: that Fastify ceiling
//                                           behind the Fetch API round trip our adapter makes.
//   Fastify (gc)    POST /api/token/refresh jwt-refresh's route, SQLite store with group commit on.
//
// Setup-only routes (never measured): POST /api/login_check on both Fastify servers (one
// fresh refresh token per connection) and POST /ceiling/issue (generation-0 ceiling rows).
// Every store and the ceiling use their own file in BENCH_DB_DIR, WAL + synchronous=NORMAL,
// checkpoints in a worker thread (the store's default; BENCH_CHECKPOINT=auto puts SQLite's
// auto-checkpoint back on the request thread, for the store and the ceiling alike).
//
// Control goes over the IPC channel (see `handlers` below); the child exits when
// told to stop or when the parent goes away.
import { createPrivateKey } from 'node:crypto';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from '../dist/index.js';
import { jwtRefreshPlugin } from '../dist/adapters/fastify.js';
import { createSqliteStore } from '../dist/stores/sqlite.js';
import { bareCeilingServer, createCeiling, sqliteBackend } from './ceiling.mjs';

if (typeof process.send !== 'function') {
  console.error('bench/server.mjs is started by bench/run.mjs (it needs the IPC channel)');
  process.exit(2);
}
// Never outlive the parent, even if it is killed without cleaning up.
process.on('disconnect', () => process.exit(1));

const dbDir = process.env.BENCH_DB_DIR;
if (!dbDir) throw new Error('BENCH_DB_DIR is required');
const CHECKPOINT = process.env.BENCH_CHECKPOINT === 'auto' ? 'auto' : 'worker';
const MAX_BATCH = Number(process.env.BENCH_MAX_BATCH) || undefined;

// ---- shared fixtures ------------------------------------------------------

const USER = { id: 'u-bench', identifier: 'bench', roles: ['ROLE_USER'] };

// Login is not measured: a cheap scrypt keeps the per-round logins fast.
const passwordHasher = createScryptHasher({ cost: 2 ** 10 });
const user = { ...USER, passwordHash: await passwordHasher.hash('bench') };

// ES256 key generated at start; the library gets the PEM, the ceiling a KeyObject of the same key.
const { privateKeyPem } = await generateKeyPair('ES256');
const ceilingKey = createPrivateKey(privateKeyPem);

// ---- our route, group commit off and on -------------------------------------

async function ourServer(file, groupCommit) {
  const store = createSqliteStore({
    filename: join(dbDir, file),
    groupCommit: groupCommit ? (MAX_BATCH === undefined ? true : { maxBatch: MAX_BATCH }) : false,
    ...(CHECKPOINT === 'auto' ? { checkpoint: false } : {}),
  });
  const jwtRefresh = await createJwtRefresh({
    jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
    store,
    userProvider: createMemoryUserProvider([user]),
    passwordHasher,
    // Everything else default: rotation on (singleUse), grace 10 s, SHA-256 token hashes.
  });
  const app = Fastify({ logger: false });
  await app.register(jwtRefreshPlugin, { jwtRefresh });
  return { store, jwtRefresh, app };
}

const ours = await ourServer('jwt-refresh.sqlite', false);
const oursGc = await ourServer('jwt-refresh-gc.sqlite', true);
const { app, jwtRefresh } = ours;

// ---- the ceiling ------------------------------------------------------------

const backend = await sqliteBackend({ dir: dbDir, checkpoint: CHECKPOINT });
const ceiling = createCeiling({ backend, user, key: ceilingKey });
const bare = await bareCeilingServer(ceiling);
// Diagnostic, only with BENCH_OFFLOAD=1: the same bare ceiling, signing on libuv's thread pool as the library does.
const bareOffload =
  process.env.BENCH_OFFLOAD === '1'
    ? await bareCeilingServer(createCeiling({ backend, user, key: ceilingKey, signing: 'threadpool' }))
    : null;
const UNAUTHORIZED = { code: 401, message: 'Invalid JWT Refresh Token' };

// The same ceiling behind a bare Fastify route: the framework's cost, not a ratio's denominator.
app.post('/ceiling/refresh', async (request, reply) => {
  const body = await ceiling.refresh(request.body?.refresh_token, request.headers['user-agent'], request.ip);
  if (body === null) return reply.code(401).send(UNAUTHORIZED);
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return body;
});
app.post('/ceiling/issue', async (request) => ({ tokens: await ceiling.issue(request.body?.n) }));

// Diagnostic, only with BENCH_BRIDGE=1: the ceiling's work wrapped in the same Fetch API
// round trip our Fastify adapter makes (src/adapters/fastify.ts): a header-only Request
// (toCoreRequest) with the raw Buffer body beside it -> readBody -> new URL (the router and
// handleRefresh() each parse one) -> jsonParts -> reply. It isolates what that bridge costs.
if (process.env.BENCH_BRIDGE === '1') {
  const { toCoreRequest } = await import('../dist/adapters/node/node-request.js');
  const { readBody } = await import('../dist/http/read-body.js');
  const { jsonParts } = await import('../dist/http/response-parts.js');
  await app.register(async (routes) => {
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: jwtRefresh.config.maxBodyBytes }, (_request, body, done) => {
      done(null, body);
    });
    routes.post('/bridge/refresh', async (request, reply) => {
      const fetchRequest = toCoreRequest(request.method, request.url, request.headers);
      new URL(fetchRequest.url);
      const parsed = await readBody(fetchRequest, jwtRefresh.config.maxBodyBytes, request.body);
      new URL(fetchRequest.url);
      const presented = parsed.kind === 'json' ? parsed.value?.refresh_token : undefined;
      const body = await ceiling.refresh(presented, fetchRequest.headers.get('user-agent'), request.ip);
      const parts = body === null ? jsonParts(401, UNAUTHORIZED) : jsonParts(200, body);
      reply.code(parts.status);
      for (const [name, value] of parts.headers) reply.header(name, value);
      return reply.send(parts.body);
    });
  });
}

// ---- control over IPC -----------------------------------------------------

let session = null;
const handlers = {
  async 'profile-start'({ intervalUs = 200 }) {
    session ??= new Session();
    session.connect();
    const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: intervalUs });
    await post('Profiler.start');
    return true;
  },
  async 'profile-stop'({ file }) {
    const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
    const { profile } = await post('Profiler.stop');
    await post('Profiler.disable');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    return file;
  },
  async rows() {
    return { ours: await ours.store.count(), oursGc: await oursGc.store.count(), ceiling: backend.count() };
  },
  async stop() {
    await bare.close();
    await bareOffload?.close();
    for (const server of [ours, oursGc]) {
      await server.app.close();
      await server.jwtRefresh.close();
    }
    await backend.close();
    setImmediate(() => process.exit(0));
    return true;
  },
};

process.on('message', async (message) => {
  const handler = handlers[message?.type];
  try {
    if (!handler) throw new Error(`unknown message ${message?.type}`);
    process.send({ id: message.id, ok: true, result: await handler(message) });
  } catch (error) {
    process.send({ id: message.id, ok: false, error: String(error?.stack ?? error) });
  }
});

await app.listen({ host: '127.0.0.1', port: 0 });
await oursGc.app.listen({ host: '127.0.0.1', port: 0 });
process.send({
  type: 'ready',
  port: app.server.address().port,
  ports: { bare: bare.port, gc: oursGc.app.server.address().port, ...(bareOffload === null ? {} : { bareOffload: bareOffload.port }) },
});

// The benchmark server: ONE Fastify instance with two refresh routes, run as a
// child process of bench/run.mjs so the load generator has its own core.
//
//   POST /api/token/refresh   jwt-refresh's route, registered by the Fastify plugin (dist/).
//   POST /ceiling/refresh     the ceiling: the same essential work written by hand, no library.
//   POST /bridge/refresh      diagnostic, only with BENCH_BRIDGE=1: the ceiling behind the
//                             Fetch API round trip our adapter makes (see below).
//
// Setup-only routes (never measured): POST /api/login_check (the plugin's login,
// used by run.mjs to get one fresh refresh token per connection) and
// POST /ceiling/issue (inserts generation-0 rows in the ceiling table).
//
// Control goes over the IPC channel (see `handlers` below); the child exits when
// told to stop or when the parent goes away.
import { createHash, createHmac, createPrivateKey, randomBytes, randomUUID } from 'node:crypto';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { SignJWT } from 'jose';
import { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from '../dist/index.js';
import { jwtRefreshPlugin } from '../dist/adapters/fastify.js';
import { createSqliteStore } from '../dist/stores/sqlite.js';
import { sqliteMigrations } from '../dist/stores/sqlite/sqlite-migrations.js';

if (typeof process.send !== 'function') {
  console.error('bench/server.mjs is started by bench/run.mjs (it needs the IPC channel)');
  process.exit(2);
}
// Never outlive the parent, even if it is killed without cleaning up.
process.on('disconnect', () => process.exit(1));

const dbDir = process.env.BENCH_DB_DIR;
if (!dbDir) throw new Error('BENCH_DB_DIR is required');

// ---- shared fixtures ------------------------------------------------------

const USER = { id: 'u-bench', identifier: 'bench', roles: ['ROLE_USER'] };
const TTL_SECONDS = 2_592_000; // the library's default refresh-token ttl
const TOKEN_TTL_SECONDS = 3600; // the library's default access-token ttl
const SECRET = randomBytes(32).toString('hex'); // successor-derivation secret of the ceiling

// Login is not measured: a cheap scrypt keeps the per-round logins fast.
const passwordHasher = createScryptHasher({ cost: 2 ** 10 });
const user = { ...USER, passwordHash: await passwordHasher.hash('bench') };

// ES256 key generated at start; the library gets the PEM, the ceiling a KeyObject of the same key.
const { privateKeyPem } = await generateKeyPair('ES256');
const ceilingKey = createPrivateKey(privateKeyPem);

// ---- our route ------------------------------------------------------------

const store = createSqliteStore({ filename: join(dbDir, 'jwt-refresh.sqlite') });
const jwtRefresh = await createJwtRefresh({
  jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
  store,
  userProvider: createMemoryUserProvider([user]),
  passwordHasher,
  // Everything else default: rotation on (singleUse), grace 10 s, SHA-256 token hashes.
});

const app = Fastify({ logger: false });
await app.register(jwtRefreshPlugin, { jwtRefresh });

// ---- the ceiling ----------------------------------------------------------
//
// Same essential work as a rotating refresh, no library: parse the JSON body,
// SHA-256 the presented token, one indexed SELECT by hash, check the row, sign
// the same claims with the same key through jose's SignJWT (ES256), derive the
// successor like the library (HMAC-SHA-512, 128 hex), SHA-256 it, and write what a
// rotation writes, in one IMMEDIATE transaction: the guarded UPDATE that marks the
// parent rotated (the compare-and-set) and the INSERT of the successor's row (the
// developers' guide: the same crypto and the same store write). The table is created by the library's own
// migration SQL (same columns, same 5 indexes) in a database with the same
// pragmas, so the insert maintains the same B-trees.

const ceilingDb = new Database(join(dbDir, 'ceiling.sqlite'));
ceilingDb.pragma('journal_mode = WAL');
ceilingDb.pragma('synchronous = NORMAL');
ceilingDb.pragma('busy_timeout = 5000');
ceilingDb.pragma('foreign_keys = ON');
for (const migration of sqliteMigrations) ceilingDb.exec(migration.up('ceiling_tokens'));
const ceilingFind = ceilingDb.prepare('SELECT * FROM "ceiling_tokens" WHERE token_hash = ?');
const ceilingInsert = ceilingDb.prepare(
  `INSERT INTO "ceiling_tokens" (id, token_hash, user_id, user_identifier, family_id, generation, valid_until,
     family_deadline, created_at, last_used_at, rotated_at, successor_hash, revoked_at, user_agent, ip)
   VALUES (@id, @token_hash, @user_id, @user_identifier, @family_id, @generation, @valid_until,
     @family_deadline, @created_at, @last_used_at, @rotated_at, @successor_hash, @revoked_at, @user_agent, @ip)`,
);
const ceilingMarkRotated = ceilingDb.prepare(
  'UPDATE "ceiling_tokens" SET rotated_at = ?, successor_hash = ?, last_used_at = ? WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL',
);
const ceilingWrite = ceilingDb.transaction((row) => ceilingInsert.run(row));
const ceilingRotate = ceilingDb.transaction((parentHash, row, nowMs) => {
  if (ceilingMarkRotated.run(nowMs, row.token_hash, nowMs, parentHash).changes !== 1) return false;
  ceilingInsert.run(row);
  return true;
});
const usersById = new Map([[user.id, user]]);

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const unauthorized = (reply) => reply.code(401).send({ code: 401, message: 'Invalid JWT Refresh Token' });

function ceilingRow(tokenHash, familyId, generation, nowMs, client) {
  return {
    id: randomUUID(),
    token_hash: tokenHash,
    user_id: user.id,
    user_identifier: user.identifier,
    family_id: familyId,
    generation,
    valid_until: nowMs + TTL_SECONDS * 1000,
    family_deadline: null,
    created_at: nowMs,
    last_used_at: null,
    rotated_at: null,
    successor_hash: null,
    revoked_at: null,
    user_agent: client.userAgent,
    ip: client.ip,
  };
}

/** The ceiling's work once the token is in hand: the answer body, or null for a 401. */
async function ceilingRefresh(presented, userAgent, ip) {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 512) return null;
  const row = ceilingFind.get(sha256(presented));
  const nowMs = Date.now();
  if (row === undefined || row.revoked_at !== null || row.rotated_at !== null || row.valid_until <= nowMs) return null;
  const owner = usersById.get(row.user_id);
  if (owner === undefined) return null;
  const iat = Math.floor(nowMs / 1000);
  // The library's default claims, in its order: roles, sub, jti, userIdClaim, iat, exp.
  const claims = {
    roles: [...owner.roles],
    sub: owner.id,
    jti: randomUUID(),
    username: owner.identifier,
    iat,
    exp: iat + TOKEN_TTL_SECONDS,
  };
  const generation = row.generation + 1;
  const next = createHmac('sha512', SECRET)
    .update(presented)
    .update('\0')
    .update(row.family_id)
    .update('\0')
    .update(String(generation))
    .digest('hex');
  const client = { userAgent: userAgent ?? row.user_agent, ip: ip ?? row.ip };
  if (!ceilingRotate.immediate(sha256(presented), ceilingRow(sha256(next), row.family_id, generation, nowMs, client), nowMs)) return null;
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).sign(ceilingKey);
  return { token, refresh_token: next };
}

app.post('/ceiling/refresh', async (request, reply) => {
  const body = await ceilingRefresh(request.body?.refresh_token, request.headers['user-agent'], request.ip);
  if (body === null) return unauthorized(reply);
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return body;
});

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
      const body = await ceilingRefresh(presented, fetchRequest.headers.get('user-agent'), request.ip);
      const parts = body === null ? jsonParts(401, { code: 401, message: 'Invalid JWT Refresh Token' }) : jsonParts(200, body);
      reply.code(parts.status);
      for (const [name, value] of parts.headers) reply.header(name, value);
      return reply.send(parts.body);
    });
  });
}

// Setup only: n fresh generation-0 ceiling tokens (one per benchmark connection).
app.post('/ceiling/issue', async (request) => {
  const n = Math.min(Number(request.body?.n) || 1, 10_000);
  const nowMs = Date.now();
  const tokens = [];
  for (let i = 0; i < n; i++) {
    const token = randomBytes(64).toString('hex');
    ceilingWrite.immediate(ceilingRow(sha256(token), randomUUID(), 0, nowMs, { userAgent: null, ip: '127.0.0.1' }));
    tokens.push(token);
  }
  return { tokens };
});

// Import the ceiling's key into jose once, as the library does at start (loadAccessTokenKeys).
await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(ceilingKey);

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
    return {
      ours: store.database.prepare('SELECT COUNT(*) FROM refresh_tokens').pluck().get(),
      ceiling: ceilingDb.prepare('SELECT COUNT(*) FROM ceiling_tokens').pluck().get(),
    };
  },
  async stop() {
    await app.close();
    await jwtRefresh.close();
    ceilingDb.close();
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

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.send({ type: 'ready', port: app.server.address().port, address });

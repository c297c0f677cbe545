// The ceiling of `npm run bench`: the physical limit of a rotating refresh done one
// commit per request, for every row (bench/server.mjs, bench/row-server.mjs). Per
// request: SHA-256 of the presented token -> ONE indexed lookup by hash on the backend
// -> validity checks -> HMAC-SHA-512 successor (as the library derives it), SHA-256 of
// it -> the same write as a rotation in the store: the parent marked rotated only if it
// is still neither rotated nor revoked (the compare-and-set), and the successor's row
// inserted, as one atomic step -> the library's default claims signed ES256 with
// node:crypto's sign() (a KeyObject made once). No library code: the tables/indexes come
// from the library's own first migration, so the write maintains the same indexes as ours.
//
// `bareCeilingServer(ceiling)` serves it from a bare node:http server (no framework): the
// ceiling every ratio is taken against. The framework rows (Fastify, Express, Nest) also
// mount the same `refresh` on a route of their own, which shows what the framework costs.
//
// Backends (`find(hash)` returns a plain row or undefined; `rotate(parentHash, row, nowMs)`
// answers whether the guarded write happened; `insert(row)` is setup only):
//   sqlite    better-sqlite3, IMMEDIATE transaction: guarded UPDATE + INSERT, WAL + synchronous=NORMAL;
//             checkpoint 'worker' (default): a worker thread on its own connection runs
//             wal_checkpoint(PASSIVE) every 200 ms, then TRUNCATE past 32 MiB of WAL, and the serving
//             connection's auto-checkpoint is raised to 64 MiB as a backstop (what the SQLite store
//             does by default); 'auto': SQLite's auto-checkpoint in the
//             committing request (the store's `checkpoint: false`)
//   postgres  pg Pool (default size, as the store's), SELECT by hash + one statement:
//             a CTE whose guarded UPDATE ... RETURNING feeds the INSERT
//   mysql     mysql2 pool (default size, as the store's), SELECT by hash + a transaction:
//             guarded UPDATE, affectedRows check, INSERT, COMMIT
//   redis     ioredis, HGETALL + one Lua script: guard, HSET of the parent, HSET + PEXPIREAT
//             of the successor, SADD to its family and user sets, ZADD to the validity set
//   mongo     mongodb driver, findOne by tokenHash + insertOne of the successor +
//             guarded findOneAndUpdate of the parent (the store's order; same 5 indexes)
import { createHash, createHmac, randomBytes, randomUUID, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export const TTL_SECONDS = 2_592_000; // the library's default refresh-token ttl
export const TOKEN_TTL_SECONDS = 3600; // the library's default access-token ttl
const RETENTION_MARGIN_MS = 60_000; // Redis: keep a record a little past its validity, like the store

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const JWT_HEADER = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');

const signingInput = (claims) => `${JWT_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;

/** A compact ES256 JWT of `claims`: node:crypto's ECDSA, P-1363 signature encoding as JWS wants. */
function signEs256(claims, key) {
  const input = signingInput(claims);
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** The same signature with sign()'s callback form: the ECDSA math runs on libuv's thread pool, as the library does it. */
function signEs256OnThreadPool(claims, key) {
  const input = signingInput(claims);
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, (error, signature) =>
      error === null ? resolve(`${input}.${signature.toString('base64url')}`) : reject(error),
    );
  });
}

/**
 * The ceiling's refresh and setup issue over one backend.
 * `refresh(presented, userAgent, ip)` resolves the answer body, or null for a 401.
 * `signing: 'threadpool'` (diagnostic, `BENCH_OFFLOAD=1`) signs as the library does instead of inline.
 */
export function createCeiling({ backend, user, key, signing = 'inline' }) {
  if (key.type !== 'private') throw new Error('the ceiling signs with a private KeyObject');
  const secret = randomBytes(32).toString('hex');
  const usersById = new Map([[user.id, user]]);
  const rowOf = (tokenHash, familyId, generation, nowMs, client) => ({
    id: randomUUID(),
    token_hash: tokenHash,
    user_id: user.id,
    user_identifier: user.identifier,
    family_id: familyId,
    generation,
    valid_until: nowMs + TTL_SECONDS * 1000,
    created_at: nowMs,
    user_agent: client.userAgent,
    ip: client.ip,
  });

  async function refresh(presented, userAgent, ip) {
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 512) return null;
    const row = await backend.find(sha256(presented));
    const nowMs = Date.now();
    if (row === undefined || row.revoked || row.rotated || row.valid_until <= nowMs) return null;
    const owner = usersById.get(row.user_id);
    if (owner === undefined) return null;
    const iat = Math.floor(nowMs / 1000);
    const claims = {
      roles: [...owner.roles],
      sub: owner.id,
      jti: randomUUID(),
      username: owner.identifier,
      iat,
      exp: iat + TOKEN_TTL_SECONDS,
    };
    const generation = row.generation + 1;
    const next = createHmac('sha512', secret)
      .update(presented)
      .update('\0')
      .update(row.family_id)
      .update('\0')
      .update(String(generation))
      .digest('hex');
    const client = { userAgent: userAgent ?? row.user_agent, ip: ip ?? row.ip };
    if (!(await backend.rotate(sha256(presented), rowOf(sha256(next), row.family_id, generation, nowMs, client), nowMs))) return null;
    const token = signing === 'threadpool' ? await signEs256OnThreadPool(claims, key) : signEs256(claims, key);
    return { token, refresh_token: next };
  }

  async function issue(n) {
    const nowMs = Date.now();
    const tokens = [];
    for (let i = 0; i < Math.min(Number(n) || 1, 10_000); i++) {
      const token = randomBytes(64).toString('hex');
      await backend.insert(rowOf(sha256(token), randomUUID(), 0, nowMs, { userAgent: null, ip: '127.0.0.1' }));
      tokens.push(token);
    }
    return tokens;
  }

  return { refresh, issue };
}

// ---- backends ---------------------------------------------------------------

const COLUMNS = [
  'id',
  'token_hash',
  'user_id',
  'user_identifier',
  'family_id',
  'generation',
  'valid_until',
  'family_deadline',
  'created_at',
  'last_used_at',
  'rotated_at',
  'successor_hash',
  'revoked_at',
  'user_agent',
  'ip',
];
const PG_INSTANTS = new Set(['valid_until', 'family_deadline', 'created_at', 'last_used_at', 'rotated_at', 'revoked_at']);
const full = (row) => ({ family_deadline: null, last_used_at: null, rotated_at: null, successor_hash: null, revoked_at: null, ...row });
const plain = (row, toMs = (v) => v) =>
  row === undefined || row === null
    ? undefined
    : {
        user_id: row.user_id,
        family_id: row.family_id,
        generation: Number(row.generation),
        valid_until: toMs(row.valid_until),
        revoked: row.revoked_at !== null && row.revoked_at !== undefined,
        rotated: row.rotated_at !== null && row.rotated_at !== undefined,
        user_agent: row.user_agent ?? null,
        ip: row.ip ?? null,
      };

// The ceiling's own checkpointer (written out here: no library code in a ceiling).
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const db = new (require(workerData.driver))(workerData.file);
db.pragma('busy_timeout = 0');
const size = () => { try { return statSync(workerData.file + '-wal').size; } catch { return 0; } };
const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (size() > 32 * 1024 * 1024) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {}
};
const timer = setInterval(tick, 200);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

/** better-sqlite3, the store's pragmas (WAL, synchronous=NORMAL) and transaction. */
export async function sqliteBackend({ dir, file = 'ceiling.sqlite', checkpoint = 'worker' }) {
  const { default: Database } = await import('better-sqlite3');
  const { createRequire } = await import('node:module');
  const { sqliteMigrations } = await import('../dist/stores/sqlite/sqlite-migrations.js');
  const path = join(dir, file);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  let worker = null;
  if (checkpoint === 'worker') {
    db.pragma('wal_autocheckpoint = 16384'); // the bound, 64 MiB of 4 KiB pages: a backstop, as in the store
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { driver, file: path } });
  } else if (checkpoint !== 'auto') {
    throw new Error(`sqliteBackend: checkpoint must be 'worker' or 'auto', got ${checkpoint}`);
  }
  for (const migration of sqliteMigrations) db.exec(migration.up('ceiling_tokens'));
  const find = db.prepare('SELECT * FROM "ceiling_tokens" WHERE token_hash = ?');
  const insert = db.prepare(`INSERT INTO "ceiling_tokens" (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`);
  const markRotated = db.prepare(
    'UPDATE "ceiling_tokens" SET rotated_at = ?, successor_hash = ?, last_used_at = ? WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL',
  );
  const write = db.transaction((row) => insert.run(row));
  const rotate = db.transaction((parentHash, row, nowMs) => {
    if (markRotated.run(nowMs, row.token_hash, nowMs, parentHash).changes !== 1) return false;
    insert.run(row);
    return true;
  });
  return {
    find: (hash) => plain(find.get(hash)),
    insert: (row) => void write.immediate(full(row)),
    rotate: (parentHash, row, nowMs) => rotate.immediate(parentHash, full(row), nowMs),
    count: () => db.prepare('SELECT COUNT(*) FROM "ceiling_tokens"').pluck().get(),
    close: async () => {
      if (worker !== null) {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.postMessage('stop');
        await exited;
      }
      db.close();
    },
  };
}

/** A Map keyed by token hash, the memory store's shape: the guard and both writes in one synchronous step. */
export function memoryBackend() {
  const rows = new Map();
  return {
    find: (hash) => plain(rows.get(hash)),
    insert: (row) => void rows.set(row.token_hash, full(row)),
    rotate: (parentHash, row, nowMs) => {
      const parent = rows.get(parentHash);
      if (parent === undefined || parent.rotated_at !== null || parent.revoked_at !== null) return false;
      parent.rotated_at = nowMs;
      parent.last_used_at = nowMs;
      parent.successor_hash = row.token_hash;
      rows.set(row.token_hash, full(row));
      return true;
    },
    close: async () => rows.clear(),
  };
}

/** node-postgres, table from the store's migration 1 in the run's own schema. */
export async function postgresBackend({ url, schema, create = true }) {
  const { default: pg } = await import('pg');
  const { postgresMigrations } = await import('../dist/stores/postgres/postgres-migrations.js');
  const pool = new pg.Pool({ connectionString: url });
  // create: false for the second process of a row, which finds the table made by the first.
  if (create) await pool.query(postgresMigrations[0].up({ schema, table: 'ceiling_tokens' }));
  const table = `"${schema}"."ceiling_tokens"`;
  const findSql = `SELECT user_id, family_id, generation, (extract(epoch from valid_until) * 1000)::float8 AS valid_until,
    revoked_at, rotated_at, user_agent, ip FROM ${table} WHERE token_hash = $1`;
  const insertSql = `INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c, i) => (['valid_until', 'created_at'].includes(c) ? `to_timestamp($${i + 1}::float8 / 1000)` : `$${i + 1}`)).join(', ')})`;
  const typed = (c, i) =>
    PG_INSTANTS.has(c) ? `to_timestamp($${i + 1}::float8 / 1000)` : `$${i + 1}::${c === 'generation' ? 'integer' : 'text'}`;
  const at = `to_timestamp($${COLUMNS.length + 1}::float8 / 1000)`;
  const rotateSql = `WITH parent AS (
      UPDATE ${table} SET rotated_at = ${at}, successor_hash = $2, last_used_at = ${at}
      WHERE token_hash = $${COLUMNS.length + 2} AND rotated_at IS NULL AND revoked_at IS NULL RETURNING id
    )
    INSERT INTO ${table} (${COLUMNS.join(', ')}) SELECT ${COLUMNS.map(typed).join(', ')} FROM parent RETURNING id`;
  return {
    find: async (hash) => plain((await pool.query({ name: 'ceiling-find', text: findSql, values: [hash] })).rows[0]),
    rotate: async (parentHash, row, nowMs) => {
      const r = full(row);
      const result = await pool.query({
        name: 'ceiling-rotate',
        text: rotateSql,
        values: [...COLUMNS.map((c) => r[c]), nowMs, parentHash],
      });
      return result.rowCount === 1;
    },
    insert: async (row) => {
      const r = full(row);
      await pool.query({ name: 'ceiling-insert', text: insertSql, values: COLUMNS.map((c) => r[c]) });
    },
    close: () => pool.end(),
  };
}

/** mysql2, table from the store's migration 1 in the run's own database. */
export async function mysqlBackend({ url }) {
  const { default: mysql } = await import('mysql2/promise');
  const { mysqlMigrations } = await import('../dist/stores/mysql/mysql-migrations.js');
  const pool = mysql.createPool({ uri: url, timezone: 'Z' });
  for (const sql of mysqlMigrations[0].up('ceiling_tokens')) await pool.query(sql);
  const insertSql = `INSERT INTO ceiling_tokens (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
  return {
    find: async (hash) => {
      const [rows] = await pool.execute(
        'SELECT user_id, family_id, generation, valid_until, revoked_at, rotated_at, user_agent, ip FROM ceiling_tokens WHERE token_hash = ?',
        [hash],
      );
      return plain(rows[0], (v) => (v instanceof Date ? v.getTime() : Date.parse(`${v}Z`)));
    },
    rotate: async (parentHash, row, nowMs) => {
      const r = full({ ...row, valid_until: new Date(row.valid_until), created_at: new Date(row.created_at) });
      const at = new Date(nowMs);
      const connection = await pool.getConnection();
      try {
        await connection.query('START TRANSACTION');
        const [marked] = await connection.execute(
          'UPDATE ceiling_tokens SET rotated_at = ?, successor_hash = ?, last_used_at = ? WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL',
          [at, r.token_hash, at, parentHash],
        );
        if (marked.affectedRows !== 1) {
          await connection.query('ROLLBACK');
          return false;
        }
        await connection.execute(
          insertSql,
          COLUMNS.map((c) => r[c]),
        );
        await connection.query('COMMIT');
        return true;
      } finally {
        connection.release();
      }
    },
    insert: async (row) => {
      const r = full({ ...row, valid_until: new Date(row.valid_until), created_at: new Date(row.created_at) });
      await pool.execute(
        insertSql,
        COLUMNS.map((c) => r[c]),
      );
    },
    close: () => pool.end(),
  };
}

/** ioredis, one hash per record like the store's (`<prefix>ceiling:token:<hash>`). */
export async function redisBackend({ url, keyPrefix }) {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  client.defineCommand('ceilingInsert', {
    numberOfKeys: 1,
    // One round trip: the record's fields, then its expiry.
    lua: "redis.call('HSET', KEYS[1], unpack(ARGV, 2)) redis.call('PEXPIREAT', KEYS[1], ARGV[1]) return 1",
  });
  client.defineCommand('ceilingRotate', {
    numberOfKeys: 5,
    // KEYS: parent, successor, family set, user set, validity zset. ARGV: successor hash, validUntil,
    // expiry, rotatedAt, then the successor's fields. One script, so the guard and the writes are atomic.
    lua: `local parent = redis.call('HMGET', KEYS[1], 'token_hash', 'rotated_at', 'revoked_at')
if not parent[1] or parent[2] or parent[3] then return 0 end
redis.call('HSET', KEYS[1], 'rotated_at', ARGV[4], 'last_used_at', ARGV[4], 'successor_hash', ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
return 1`,
  });
  const keyOf = (hash) => `${keyPrefix}ceiling:token:${hash}`;
  return {
    find: async (hash) => {
      const fields = await client.hgetall(keyOf(hash));
      return Object.keys(fields).length === 0 ? undefined : plain(fields, Number);
    },
    insert: async (row) => {
      const fields = Object.entries(row).flatMap(([k, v]) => (v === null ? [] : [k, String(v)]));
      await client.ceilingInsert(keyOf(row.token_hash), row.valid_until + RETENTION_MARGIN_MS, ...fields);
    },
    rotate: async (parentHash, row, nowMs) => {
      const fields = Object.entries(row).flatMap(([k, v]) => (v === null ? [] : [k, String(v)]));
      const keys = [
        keyOf(parentHash),
        keyOf(row.token_hash),
        `${keyPrefix}ceiling:family:${row.family_id}`,
        `${keyPrefix}ceiling:user:${row.user_id}`,
        `${keyPrefix}ceiling:expiry`,
      ];
      return (
        (await client.ceilingRotate(...keys, row.token_hash, row.valid_until, row.valid_until + RETENTION_MARGIN_MS, nowMs, ...fields)) ===
        1
      );
    },
    close: async () => void client.disconnect(),
  };
}

/** mongodb driver, collection with the store's migration-1 indexes, documents shaped like the store's. */
export async function mongoBackend({ url, databaseName }) {
  const { MongoClient } = await import('mongodb');
  const { mongoMigrations } = await import('../dist/stores/mongodb.js');
  const client = new MongoClient(url);
  await client.connect();
  const db = client.db(databaseName);
  await mongoMigrations[0].up(db, 'ceiling_tokens');
  const tokens = db.collection('ceiling_tokens');
  return {
    find: async (hash) => {
      const doc = await tokens.findOne({ tokenHash: hash });
      if (doc === null) return undefined;
      return {
        user_id: doc.userId,
        family_id: doc.familyId,
        generation: doc.generation,
        valid_until: doc.validUntil.getTime(),
        revoked: doc.revokedAt != null,
        rotated: doc.rotatedAt != null,
        user_agent: doc.userAgent ?? null,
        ip: doc.ip ?? null,
      };
    },
    rotate: async (parentHash, row, nowMs) => {
      await insertDocument(row);
      const at = new Date(nowMs);
      const marked = await tokens.findOneAndUpdate(
        { tokenHash: parentHash, rotatedAt: null, revokedAt: null },
        { $set: { rotatedAt: at, lastUsedAt: at, successorHash: row.token_hash } },
        { projection: { _id: 1 } },
      );
      if (marked !== null) return true;
      await tokens.deleteOne({ tokenHash: row.token_hash });
      return false;
    },
    insert: (row) => insertDocument(row),
    close: () => client.close(),
  };

  async function insertDocument(row) {
    const validUntil = new Date(row.valid_until);
    await tokens.insertOne({
      id: row.id,
      tokenHash: row.token_hash,
      userId: row.user_id,
      userIdentifier: row.user_identifier,
      familyId: row.family_id,
      generation: row.generation,
      validUntil,
      familyDeadline: null,
      createdAt: new Date(row.created_at),
      lastUsedAt: null,
      rotatedAt: null,
      successorHash: null,
      revokedAt: null,
      userAgent: row.user_agent,
      ip: row.ip,
      expiresAt: new Date(validUntil.getTime()),
    });
  }
}

// ---- the bare node:http server ------------------------------------------------

const UNAUTHORIZED_BODY = JSON.stringify({ code: 401, message: 'Invalid JWT Refresh Token' });

/** One write: status, headers and a body whose length is known (writeHead without it would chunk the body). */
function send(response, status, payload, headers = {}) {
  response
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers })
    .end(payload);
}

/**
 * A bare node:http server for `ceiling` (no framework, no library code): POST /ceiling/refresh
 * reads the JSON body, refreshes, answers `{token, refresh_token}` with `cache-control: no-store`
 * (or 401); POST /ceiling/issue (setup) answers `{tokens}`. Resolves `{ port, close }`.
 */
export function bareCeilingServer(ceiling, { port = 0, host = '127.0.0.1' } = {}) {
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
      let json;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        json = undefined;
      }
      try {
        if (request.method === 'POST' && request.url === '/ceiling/refresh') {
          const body = await ceiling.refresh(json?.refresh_token, request.headers['user-agent'], request.socket.remoteAddress);
          if (body === null) {
            send(response, 401, UNAUTHORIZED_BODY);
            return;
          }
          send(response, 200, JSON.stringify(body), { 'cache-control': 'no-store', pragma: 'no-cache' });
          return;
        }
        if (request.method === 'POST' && request.url === '/ceiling/issue') {
          send(response, 200, JSON.stringify({ tokens: await ceiling.issue(json?.n) }));
          return;
        }
        response.writeHead(404).end();
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error?.message ?? error));
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(done);
          }),
      }),
    );
  });
}

// The server of one extra row of `npm run bench` (per store, per adapter), run as a
// child process of bench/run.mjs like bench/server.mjs. BENCH_ROW picks the row:
//
//   postgres | mysql | redis | mongo   Fastify 5: jwtRefreshPlugin on that store, and a bare
//   | memory                           Fastify ceiling route on the same backend.
//   express | fetch | nest |          that adapter on SQLite, and that framework's own bare
//   nest-fastify                       (Nest on its Fastify platform)
//                                      ceiling route on SQLite (Fetch: a bare fetch handler
//                                      behind the same plain node:http bridge).
//
// Routes, for every row: POST /api/login_check and POST /api/token/refresh (ours),
// POST /ceiling/issue (setup) and POST /ceiling/refresh (the framework's ceiling route,
// bench/ceiling.mjs), and, on a second port, the same ceiling from a bare node:http server
// (bareCeilingServer): the ceiling the row's ratio is taken against.
// Every row uses its own schema / database / key prefix, named after BENCH_RUN_ID,
// dropped on `stop`. Control over IPC, as bench/server.mjs.
//
// Several processes (bench/row-cluster.mjs): each is a cluster worker of that primary, on the
// ports it passes (BENCH_PORT, BENCH_BARE_PORT, shared round-robin by node:cluster); only the
// first creates the schema (BENCH_CREATE=1) and only the last stopped drops it (BENCH_DROP=1).
import { createPrivateKey } from 'node:crypto';
import { createServer } from 'node:http';
import { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from '../dist/index.js';
import {
  bareCeilingServer,
  createCeiling,
  memoryBackend,
  mongoBackend,
  mysqlBackend,
  postgresBackend,
  redisBackend,
  sqliteBackend,
} from './ceiling.mjs';

if (typeof process.send !== 'function') {
  console.error('bench/row-server.mjs is started by bench/run.mjs (it needs the IPC channel)');
  process.exit(2);
}
process.on('disconnect', () => process.exit(1));

const ROW = process.env.BENCH_ROW;
const RUN_ID = process.env.BENCH_RUN_ID;
const dbDir = process.env.BENCH_DB_DIR;
if (!ROW || !RUN_ID || !dbDir) throw new Error('BENCH_ROW, BENCH_RUN_ID and BENCH_DB_DIR are required');

const PORT = Number(process.env.BENCH_PORT) || 0;
const BARE_PORT = Number(process.env.BENCH_BARE_PORT) || 0;
const CREATE = process.env.BENCH_CREATE !== '0';
const DROP = process.env.BENCH_DROP !== '0';

const USER = { id: 'u-bench', identifier: 'bench', roles: ['ROLE_USER'] };
const passwordHasher = createScryptHasher({ cost: 2 ** 10 });
const user = { ...USER, passwordHash: await passwordHasher.hash('bench') };
// Several processes share one key (BENCH_KEY_PEM from the cluster primary), as instances share `secret`.
const privateKeyPem = process.env.BENCH_KEY_PEM || (await generateKeyPair('ES256')).privateKeyPem;
const ceilingKey = createPrivateKey(privateKeyPem);

// ---- store and ceiling backend of the row ------------------------------------

const name = `jr_bench_${RUN_ID}`; // schema / database name
const redisPrefix = `jr-bench:${RUN_ID}:`;
/** Drops what this row created on its backend. */
let dropAll = async () => 'nothing to drop';

async function openRow() {
  switch (ROW) {
    case 'postgres': {
      const url = process.env.BENCH_PG_URL;
      const { default: pg } = await import('pg');
      if (CREATE) {
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`CREATE SCHEMA "${name}"`);
        await admin.end();
      }
      dropAll = async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`DROP SCHEMA "${name}" CASCADE`);
        await client.end();
        return `dropped schema ${name}`;
      };
      const { createPostgresStore } = await import('../dist/stores/postgres.js');
      return {
        store: createPostgresStore({
          url,
          schema: name,
          tableName: 'refresh_tokens',
          preparedStatements: process.env.BENCH_PG_PREPARED === '1',
        }),
        backend: await postgresBackend({ url, schema: name, create: CREATE }),
      };
    }
    case 'mysql': {
      const url = process.env.BENCH_MYSQL_URL;
      const { default: mysql } = await import('mysql2/promise');
      const admin = await mysql.createConnection({ uri: url });
      await admin.query(`CREATE DATABASE \`${name}\``);
      await admin.end();
      dropAll = async () => {
        const connection = await mysql.createConnection({ uri: url });
        await connection.query(`DROP DATABASE \`${name}\``);
        await connection.end();
        return `dropped database ${name}`;
      };
      const rowUrl = new URL(url);
      rowUrl.pathname = `/${name}`;
      const { createMysqlStore } = await import('../dist/stores/mysql.js');
      return {
        store: createMysqlStore({ url: rowUrl.href, tableName: 'refresh_tokens' }),
        backend: await mysqlBackend({ url: rowUrl.href }),
      };
    }
    case 'redis': {
      const url = process.env.BENCH_REDIS_URL;
      const { Redis } = await import('ioredis');
      dropAll = async () => {
        const client = new Redis(url);
        let cursor = '0';
        let removed = 0;
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) removed += await client.unlink(...keys);
        } while (cursor !== '0');
        client.disconnect();
        return `unlinked ${removed} keys under ${redisPrefix}`;
      };
      const { createRedisStore } = await import('../dist/stores/redis.js');
      return {
        // BENCH_REDIS_AUTOPIPELINING=1: an app-owned client that batches the commands of one tick into one write.
        store: createRedisStore(
          process.env.BENCH_REDIS_AUTOPIPELINING === '1'
            ? { client: new Redis(url, { enableAutoPipelining: true }), keyPrefix: redisPrefix }
            : { url, keyPrefix: redisPrefix },
        ),
        backend: await redisBackend({ url, keyPrefix: redisPrefix }),
      };
    }
    case 'mongo': {
      const url = process.env.BENCH_MONGO_URL;
      const { MongoClient } = await import('mongodb');
      dropAll = async () => {
        const client = new MongoClient(url);
        await client.connect();
        await client.db(name).dropDatabase();
        await client.close();
        return `dropped database ${name}`;
      };
      const { createMongoStore } = await import('../dist/stores/mongodb.js');
      return {
        store: createMongoStore({ url, databaseName: name }),
        backend: await mongoBackend({ url, databaseName: name }),
      };
    }
    case 'memory': {
      const { createMemoryStore } = await import('../dist/stores/memory.js');
      return { store: createMemoryStore(), backend: memoryBackend() };
    }
    case 'express':
    case 'fetch':
    case 'nest':
    case 'nest-fastify': {
      const { createSqliteStore } = await import('../dist/stores/sqlite.js');
      const { join } = await import('node:path');
      return {
        store: createSqliteStore({ filename: join(dbDir, 'jwt-refresh.sqlite') }),
        backend: await sqliteBackend({ dir: dbDir }),
      };
    }
    default:
      throw new Error(`unknown BENCH_ROW ${ROW}`);
  }
}

let opened;
try {
  opened = await openRow();
} catch (error) {
  // Do not leave a half-made schema / database behind.
  await dropAll().catch(() => undefined);
  throw error;
}
const { store, backend } = opened;
await store.migrate?.();
const jwtRefresh = await createJwtRefresh({
  jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
  store,
  userProvider: createMemoryUserProvider([user]),
  passwordHasher,
});
const ceiling = createCeiling({ backend, user, key: ceilingKey });
const UNAUTHORIZED = { code: 401, message: 'Invalid JWT Refresh Token' };

// ---- the framework of the row ------------------------------------------------

/** Starts the row's HTTP server; resolves { port, close }. */
async function startHttp() {
  if (['postgres', 'mysql', 'redis', 'mongo', 'memory'].includes(ROW)) {
    const { default: Fastify } = await import('fastify');
    const { jwtRefreshPlugin } = await import('../dist/adapters/fastify.js');
    const app = Fastify({ logger: false });
    await app.register(jwtRefreshPlugin, { jwtRefresh });
    // Same route as bench/server.mjs's ceiling, over this row's backend.
    app.post('/ceiling/refresh', async (request, reply) => {
      const body = await ceiling.refresh(request.body?.refresh_token, request.headers['user-agent'], request.ip);
      if (body === null) return reply.code(401).send(UNAUTHORIZED);
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return body;
    });
    app.post('/ceiling/issue', async (request) => ({ tokens: await ceiling.issue(request.body?.n) }));
    await app.listen({ host: '127.0.0.1', port: PORT });
    return { port: app.server.address().port, close: () => app.close() };
  }

  if (ROW === 'express') {
    const { default: express } = await import('express');
    const { createJwtRefreshRouter } = await import('../dist/adapters/express.js');
    const app = express();
    app.set('etag', false); // the ceiling's res.json would otherwise hash every body
    app.use(createJwtRefreshRouter(jwtRefresh));
    app.post('/ceiling/refresh', express.json(), async (req, res) => {
      const body = await ceiling.refresh(req.body?.refresh_token, req.get('user-agent'), req.ip);
      if (body === null) return void res.status(401).json(UNAUTHORIZED);
      res.set('cache-control', 'no-store').set('pragma', 'no-cache').json(body);
    });
    app.post('/ceiling/issue', express.json(), async (req, res) => void res.json({ tokens: await ceiling.issue(req.body?.n) }));
    const server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return {
      port: server.address().port,
      close: () => closeServer(server),
    };
  }

  if (ROW === 'fetch') {
    // A plain node:http bridge, the way a Fetch host (Deno, Bun, @hono/node-server) delivers
    // requests: IncomingMessage -> a standard Request with the buffered body, Response ->
    // ServerResponse through response.text(). Ours and the ceiling sit behind the same bridge;
    // only the handler differs.
    const { createFetchHandler } = await import('../dist/adapters/fetch.js');
    const auth = createFetchHandler(jwtRefresh);
    const ceilingHandler = async (request) => {
      const json = await request.json().catch(() => null);
      if (request.url.endsWith('/ceiling/issue')) return Response.json({ tokens: await ceiling.issue(json?.n) });
      const body = await ceiling.refresh(json?.refresh_token, request.headers.get('user-agent'), null);
      if (body === null) return Response.json(UNAUTHORIZED, { status: 401 });
      return Response.json(body, { headers: { 'cache-control': 'no-store', pragma: 'no-cache' } });
    };
    const server = createServer(async (req, res) => {
      try {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const headers = new Headers();
        for (const [header, value] of Object.entries(req.headers)) {
          if (value !== undefined) headers.set(header, Array.isArray(value) ? value.join(', ') : value);
        }
        const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
        const request = new Request(new URL(req.url, 'http://127.0.0.1'), {
          method: req.method,
          headers,
          body: hasBody ? Buffer.concat(chunks) : undefined,
        });
        const response = req.url.startsWith('/ceiling/')
          ? await ceilingHandler(request)
          : ((await auth.handle(request, { clientIp: req.socket.remoteAddress })) ?? new Response('not found', { status: 404 }));
        res.statusCode = response.status;
        const setCookies = response.headers.getSetCookie();
        response.headers.forEach((value, header) => {
          if (header !== 'set-cookie') res.setHeader(header, value);
        });
        if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);
        res.end(await response.text());
      } catch {
        res.destroy();
      }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: server.address().port,
      close: () => closeServer(server),
    };
  }

  if (ROW === 'nest' || ROW === 'nest-fastify') {
    const { Body, Controller, Header, Headers, HttpCode, Ip, Module, Post, UnauthorizedException } = await import('@nestjs/common');
    const { NestFactory } = await import('@nestjs/core');
    const { JwtRefreshModule } = await import('../dist/adapters/nest/index.js');
    // Plain JavaScript: Nest's decorators applied as calls (as in examples/nest/app.mjs).
    class CeilingController {
      async refresh(body, userAgent, ip) {
        const answer = await ceiling.refresh(body?.refresh_token, userAgent, ip);
        if (answer === null) throw new UnauthorizedException(UNAUTHORIZED.message);
        return answer;
      }
      async issue(body) {
        return { tokens: await ceiling.issue(body?.n) };
      }
    }
    const proto = CeilingController.prototype;
    const method = (key, ...decorators) => {
      for (const decorate of decorators) decorate(proto, key, Object.getOwnPropertyDescriptor(proto, key));
    };
    method('refresh', Post('refresh'), HttpCode(200), Header('cache-control', 'no-store'), Header('pragma', 'no-cache'));
    Body()(proto, 'refresh', 0);
    Headers('user-agent')(proto, 'refresh', 1);
    Ip()(proto, 'refresh', 2);
    method('issue', Post('issue'), HttpCode(200));
    Body()(proto, 'issue', 0);
    Controller('ceiling')(CeilingController);
    class AppModule {}
    Module({ imports: [JwtRefreshModule.forRoot({ jwtRefresh })], controllers: [CeilingController] })(AppModule);
    const logger = { logger: ['error', 'warn'] };
    const app =
      ROW === 'nest-fastify'
        ? await NestFactory.create(AppModule, new (await import('@nestjs/platform-fastify')).FastifyAdapter(), logger)
        : await NestFactory.create(AppModule, logger);
    await app.listen(0, '127.0.0.1');
    return { port: app.getHttpServer().address().port, close: () => app.close() };
  }
  throw new Error(`unknown BENCH_ROW ${ROW}`);
}

const http = await startHttp();
const bare = await bareCeilingServer(ceiling, { port: BARE_PORT });

// ---- control over IPC ----------------------------------------------------------

const handlers = {
  async stop() {
    await bare.close();
    await http.close();
    await jwtRefresh.close();
    await backend.close();
    const dropped = DROP ? await dropAll() : 'left to the last process';
    setImmediate(() => process.exit(0));
    return dropped;
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

process.send({ type: 'ready', port: http.port, ports: { bare: bare.port } });

/** Closes a node:http server at once: keep-alive connections of the load generator included. */
function closeServer(server) {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });
}

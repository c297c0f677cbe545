// Hono + jwt-refresh through the Fetch adapter, served by a small node:http bridge.
// Run: npm run build && PORT=3000 node examples/hono/app.mjs
import { createServer } from 'node:http';
import { Hono } from 'hono';
import {
  createJwtRefresh,
  createMemoryUserProvider,
  createScryptHasher,
  errorResponse,
  generateKeyPair,
  toFetchRequest,
  toResponseParts,
} from 'jwt-refresh';
import { createFetchHandler } from 'jwt-refresh/fetch';
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
const auth = createFetchHandler(jwtRefresh);

// The client address feeds the rate limits. Hono's getConnInfo reads it where the runtime keeps it:
// `import { getConnInfo } from 'hono/bun'` on Bun ('hono/deno' on Deno, 'hono/cloudflare-workers' on Workers;
// '@hono/bun', '@hono/deno', ... from Hono 5), '@hono/node-server/conninfo' under @hono/node-server.
// The bridge below hands Hono the Node request as `c.env.incoming`, as @hono/node-server does,
// so this is that getConnInfo, in one line. Behind a proxy it is the proxy's address: set `trustProxy`.
const getConnInfo = (c) => ({ remote: { address: c.env.incoming.socket.remoteAddress } });

const app = new Hono();
for (const { path } of jwtRefresh.routes) {
  app.all(path, async (c) => (await auth.handle(c.req.raw, { clientIp: getConnInfo(c).remote.address ?? null })) ?? c.notFound());
}
app.get('/api/me', async (c) => {
  const result = await auth.requireAuth(c.req.raw);
  return result instanceof Response ? result : c.json(result.claims);
});

// node:http <-> Fetch. It buffers whole bodies: fine for a demo; in production use @hono/node-server.
const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  let response;
  try {
    response = await app.fetch(toFetchRequest(req.method, req.url, req.headers, Buffer.concat(chunks)), { incoming: req });
  } catch (error) {
    // What no Fetch Request can carry (TRACE, userinfo in the target): 405 / 400, as a host answers it.
    response = errorResponse(error);
  }
  const { status, headers, setCookies, body } = await toResponseParts(response);
  res.statusCode = status;
  for (const [name, value] of headers) res.setHeader(name, value);
  if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);
  res.end(body);
});
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);
server.listen(port, host, () => console.log(`listening on http://${host}:${port}`));

// Express + jwt-refresh: the token routes and a protected GET /api/me.
// Run: npm run build && PORT=3000 node examples/express/app.mjs
import express from 'express';
import { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from 'jwt-refresh';
import { createJwtRefreshRouter, jwtRefreshErrorHandler, requireAuth } from 'jwt-refresh/express';
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

const app = express();
// The app's own parsers may run first: the router hands what they parsed to jwt-refresh...
app.use(express.json());
app.use(createJwtRefreshRouter(jwtRefresh));
app.get('/api/me', requireAuth(jwtRefresh), (req, res) => {
  res.json(req.auth.claims);
});
// ...and this turns their errors on the token routes (413, bad JSON) into jwt-refresh's JSON answers.
app.use(jwtRefreshErrorHandler(jwtRefresh));

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);
app.listen(port, host, (error) => {
  if (error) throw error;
  console.log(`listening on http://${host}:${port}`);
});

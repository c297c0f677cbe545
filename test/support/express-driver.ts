import express from 'express';
import { createJwtRefreshRouter, jwtRefreshErrorHandler, requireAuth, requireRole } from '../../src/adapters/express.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import type { HttpDriver } from './http-driver.js';
import { listen } from './node-fetch-server.js';
import { requestOverHttp } from './test-request.js';

/**
 * Runs the Express router on a real socket. With `appBodyParsers` the app
 * mounts express.json() and express.urlencoded() app-wide before the router,
 * as many apps do, plus the app-level error handler their errors need.
 */
export function expressDriver({ appBodyParsers }: { appBodyParsers: boolean }): HttpDriver {
  return {
    name: appBodyParsers ? 'express (app body parsers)' : 'express',
    async start(options) {
      const jwtRefresh = await createJwtRefresh(options);
      const app = express();
      if (appBodyParsers) app.use(express.json(), express.urlencoded({ extended: false }));
      app.use(createJwtRefreshRouter(jwtRefresh));
      app.get('/api/me', requireAuth(jwtRefresh), (req, res) => {
        res.json(req.auth?.claims);
      });
      app.get('/api/admin', requireRole(jwtRefresh, 'ROLE_ADMIN'), (_req, res) => {
        res.json({ ok: true });
      });
      if (appBodyParsers) app.use(jwtRefreshErrorHandler(jwtRefresh));
      const server = await listen(app);
      return { jwtRefresh, request: requestOverHttp(server.baseUrl), origin: server.baseUrl, close: server.close };
    },
  };
}

import express from 'express';
import { describe, expect, it } from 'vitest';
import { createJwtRefreshRouter, jwtRefreshErrorHandler } from '../../src/adapters/express.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { testOptions } from '../support/app-options.js';
import { expressDriver } from '../support/express-driver.js';
import { listen } from '../support/node-fetch-server.js';
import { requestOverHttp } from '../support/test-request.js';

for (const driver of [expressDriver({ appBodyParsers: false }), expressDriver({ appBodyParsers: true })]) {
  runHttpConformance(driver);
  runHttpFeatureConformance(driver);
}

describe('express: jwtRefreshErrorHandler', () => {
  it("leaves the app's own routes' parser errors to the app", async () => {
    const jwtRefresh = await createJwtRefresh((await testOptions()).options);
    const app = express();
    app.use(express.json());
    app.use(createJwtRefreshRouter(jwtRefresh));
    app.post('/api/things', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(jwtRefreshErrorHandler(jwtRefresh));
    app.use((error: { status: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(error.status).json({ handledBy: 'app' });
    });
    const server = await listen(app);
    try {
      const request = requestOverHttp(server.baseUrl);
      const malformed = { body: '{"a":', headers: { 'content-type': 'application/json' } };
      expect(await request('/api/things', malformed)).toMatchObject({ status: 400, body: { handledBy: 'app' } });
      expect(await request('/api/login_check', malformed)).toMatchObject({ status: 400, body: { code: 400, message: 'Invalid JSON.' } });
    } finally {
      await server.close();
    }
  });
});

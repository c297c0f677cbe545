import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { jwtRefreshPlugin } from '../../src/adapters/fastify.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { testOptions } from '../support/app-options.js';
import { fastifyDriver } from '../support/fastify-driver.js';

runHttpConformance(fastifyDriver);
runHttpFeatureConformance(fastifyDriver);

describe('Fastify logging', () => {
  it("logs a request's unexpected error through that request's logger: the user provider's own message and cause, no token", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } } });
    const fixture = await testOptions({
      userProvider: {
        loadUserByIdentifier: async () => {
          throw new Error('users database unreachable', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
        },
        loadUserById: async () => null,
      },
    });
    await app.register(jwtRefreshPlugin, { jwtRefresh: await createJwtRefresh(fixture.options) });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/login_check', payload: { username: 'alice', password: 'secret-password' } });
      expect([response.statusCode, response.json()]).toEqual([500, { code: 500, message: 'Internal Server Error' }]);
      const failure = lines.find((line) => line.msg === 'jwt-refresh request failed');
      expect(failure).toMatchObject({
        level: 50,
        // Fastify's child logger of this request: its id ties the line to the request.
        reqId: expect.any(String),
        error: { name: 'Error', message: 'users database unreachable', cause: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' } },
      });
      expect(JSON.stringify(lines)).not.toContain('secret-password');
    } finally {
      await app.close();
    }
  });
});

/**
 * What a client and an operator see while the store is down, one behaviour per test, on a throwaway Redis that the
 * tests kill and restart (the fastest server to start; the outage suites run the same story on every server store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJwtRefresh, type JwtRefresh } from '../../src/create-jwt-refresh.js';
import { buildServer } from '../../src/server/build-server.js';
import { readServerSettings } from '../../src/server/server-settings.js';
import { createRedisStore, type RedisRefreshTokenStore } from '../../src/stores/redis.js';
import { createTokenHasher } from '../../src/tokens/hash-token.js';
import { testOptions, testSigningKey } from '../support/app-options.js';
import { recordingLogger } from '../support/recording-logger.js';
import { startThrowawayRedis, type ThrowawayServer } from '../support/throwaway-servers.js';

const OPERATION_TIMEOUT_MS = 1000;
const ALICE = { id: 'u-alice', identifier: 'alice', roles: ['ROLE_USER'], enabled: true };

describe('store unavailable', () => {
  let redis: ThrowawayServer;
  let store: RedisRefreshTokenStore;
  let jwtRefresh: JwtRefresh;
  const log = recordingLogger();

  beforeAll(async () => {
    // Persistent, so that tokens issued before a kill are still there after the restart.
    redis = await startThrowawayRedis({ persistence: true });
    store = createRedisStore({ url: redis.url, operationTimeoutMs: OPERATION_TIMEOUT_MS, logger: recordingLogger().logger });
    const { options } = await testOptions({ store, now: () => new Date(), logger: log.logger });
    jwtRefresh = await createJwtRefresh(options);
  });

  afterEach(async () => {
    // Each case leaves the server running for the next.
    await redis.start();
    log.entries.length = 0;
  });

  afterAll(async () => {
    await jwtRefresh?.close();
    await redis?.dispose();
  });

  function refresh(token: string): Promise<Response> {
    return jwtRefresh
      .handle(
        new Request('http://localhost/api/token/refresh', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: token }),
        }),
      )
      .then((response) => response ?? new Response(null, { status: 404 }));
  }

  it('answers a refresh with 503, Retry-After and the JSON error body, within the timeout, then 200 once the store is back', async () => {
    const { refreshToken } = await jwtRefresh.issueSession(ALICE);
    await redis.kill();

    const started = Date.now();
    const response = await refresh(refreshToken);

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ code: 503, message: 'Service temporarily unavailable.' });
    expect(Date.now() - started).toBeLessThan(OPERATION_TIMEOUT_MS + 500);

    await redis.start();
    await expect.poll(async () => (await refresh(refreshToken)).status, { timeout: 5000, interval: 100 }).toBe(200);
  });

  it('logs the store, the operation and the driver error code, and no token, hash or driver message', async () => {
    const { refreshToken } = await jwtRefresh.issueSession(ALICE);
    await redis.kill();

    await refresh(refreshToken);

    const lines = log.entries.filter((entry) => entry.level === 'error');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields.error).toEqual({
      name: 'StoreUnavailableError',
      code: 'ERR_STORE_UNAVAILABLE',
      message: 'Store operation failed: findByHash',
      store: 'redis',
      operation: 'findByHash',
      driverCode: 'ECONNREFUSED',
    });
    const logged = JSON.stringify(log.entries);
    expect(logged).not.toContain(refreshToken);
    expect(logged).not.toContain(createTokenHasher(undefined)(refreshToken));
    expect(logged).not.toContain('127.0.0.1');
  });

  it('answers /health with 503 and Retry-After while the store is down, and 200 again once it is back', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'health-'));
    const settings = readServerSettings({
      DATABASE_URL: redis.url,
      NODE_ENV: 'production',
      JWT_SECRET_KEY: await testSigningKey(),
      REFRESH_TOKEN_SECRET: 'health-test-secret-0123456789',
      USERS_FILE: join(directory, 'users.json'),
      LOG_LEVEL: 'silent',
    });
    const previous = process.env.STORE_TIMEOUT_MS;
    process.env.STORE_TIMEOUT_MS = String(OPERATION_TIMEOUT_MS);
    const { app } = await buildServer(settings).finally(() => {
      if (previous === undefined) delete process.env.STORE_TIMEOUT_MS;
      else process.env.STORE_TIMEOUT_MS = previous;
    });
    try {
      const up = await app.inject({ method: 'GET', url: '/health' });
      expect(up.statusCode).toBe(200);
      expect(up.json()).toEqual({ status: 'ok', store: 'ok' });

      await redis.kill();
      const started = Date.now();
      const down = await app.inject({ method: 'GET', url: '/health' });
      expect(down.statusCode).toBe(503);
      expect(down.headers['retry-after']).toBe('2');
      expect(down.headers['cache-control']).toBe('no-store');
      expect(down.json()).toEqual({ status: 'unavailable', store: 'unavailable' });
      expect(Date.now() - started).toBeLessThan(OPERATION_TIMEOUT_MS + 500);

      await redis.start();
      await expect
        .poll(async () => (await app.inject({ method: 'GET', url: '/health' })).statusCode, { timeout: 5000, interval: 100 })
        .toBe(200);
    } finally {
      await app.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

/**
 * The store-outage suite: refresh load against a real server on a throwaway database, which is killed mid-load and
 * restarted. What a client may see and what must hold afterwards is the same for every store:
 *
 * - during the outage only 200 or 503 with `Retry-After` and the JSON error body, never a 500 or a 401;
 * - no request held much past `operationTimeoutMs`;
 * - afterwards 200s again, from the same process (no restart of our server);
 * - every family has exactly one current token, the one its client holds, and every successor a client was given
 *   is stored: records = logins + 200s (a rotation that timed out but committed is handed out on the client's retry,
 *   by the reuse grace window, and counted once).
 *
 * Kept short (about 7 s of load at 8 connections per store) so that the three stores fit in well under a minute.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtRefreshPlugin } from '../../src/adapters/fastify.js';
import { createJwtRefresh, type JwtRefresh } from '../../src/create-jwt-refresh.js';
import type { RefreshTokenStore } from '../../src/stores/store.js';
import { createTokenHasher } from '../../src/tokens/hash-token.js';
import { testOptions } from '../support/app-options.js';
import { recordingLogger } from '../support/recording-logger.js';
import type { ThrowawayServer } from '../support/throwaway-servers.js';

/** The store's deadline in these tests: short, so an outage shows within the load. */
export const OPERATION_TIMEOUT_MS = 1000;
const CONNECTIONS = 8;
const KILL_AFTER_MS = 1500;
const OUTAGE_MS = 2000;
/** How long, after the restart, every client has to get a 200 again. */
const RECOVERY_MS = 6000;
/** After the restart every client keeps refreshing this long, so recovery is load, not one lucky request. */
const LOAD_AFTER_RECOVERY_MS = 1000;
/** Slack over the deadline for a request's own work (signing, HTTP) and the event loop of a busy 2-core machine. */
const LATENCY_SLACK_MS = 750;

/** What a store's fault test hands the suite. */
export interface OutageSubject {
  /** Starts the throwaway server. */
  server: () => Promise<ThrowawayServer>;
  /** Opens the store under test on `url` with `operationTimeoutMs`. */
  open: (url: string, operationTimeoutMs: number) => RefreshTokenStore;
  /** How many live (neither rotated nor revoked) records each family has, read from the backend itself. */
  liveByFamily: (store: RefreshTokenStore, familyIds: string[]) => Promise<Map<string, number>>;
}

interface Outcome {
  status: number;
  ms: number;
  /** Milliseconds since the load started. */
  at: number;
  retryAfter: string | null;
  body: unknown;
}

export function runStoreOutage(name: string, subject: OutageSubject): void {
  describe(`store outage: ${name}`, () => {
    let server: ThrowawayServer;
    let store: RefreshTokenStore;
    let jwtRefresh: JwtRefresh;
    let app: FastifyInstance;
    let baseUrl: string;
    const log = recordingLogger();

    beforeAll(async () => {
      server = await subject.server();
      store = subject.open(server.url, OPERATION_TIMEOUT_MS);
      await store.migrate();
      const { options } = await testOptions({ store, now: () => new Date(), logger: log.logger });
      jwtRefresh = await createJwtRefresh(options);
      // Fastify's own logger is what the plugin logs a failed request to: record its warnings and errors.
      const ignore = () => {};
      const requestLog = {
        level: 'warn',
        fatal: log.logger.error,
        error: log.logger.error,
        warn: log.logger.warn,
        info: ignore,
        debug: ignore,
        trace: ignore,
        silent: ignore,
        child: () => requestLog,
      };
      app = Fastify({ loggerInstance: requestLog as unknown as FastifyBaseLogger });
      await app.register(jwtRefreshPlugin, { jwtRefresh });
      baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    });

    afterAll(async () => {
      await app?.close();
      await server?.dispose();
    });

    it('answers 503 with Retry-After while the store is down, never a 500, and loses no successor', async () => {
      const user = { id: 'u-alice', identifier: 'alice', roles: ['ROLE_USER'], enabled: true };
      const sessions = await Promise.all(Array.from({ length: CONNECTIONS }, () => jwtRefresh.issueSession(user)));
      const tokens = sessions.map((session) => session.refreshToken);
      const familyIds = sessions.map((session) => session.sessionId);
      const countBefore = await store.count();

      const started = performance.now();
      const outcomes: Outcome[][] = tokens.map(() => []);
      let restartedAt = Number.POSITIVE_INFINITY;
      let stopAt = Number.POSITIVE_INFINITY;
      const recovered = new Set<number>();

      const worker = async (index: number) => {
        while (performance.now() - started < stopAt) {
          const sent = performance.now();
          const response = await fetch(`${baseUrl}/api/token/refresh`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ refresh_token: tokens[index] }),
          });
          const body: unknown = await response.json();
          const done = performance.now();
          outcomes[index]!.push({
            status: response.status,
            ms: done - sent,
            at: sent - started,
            retryAfter: response.headers.get('retry-after'),
            body,
          });
          if (response.status === 200) {
            tokens[index] = (body as { refresh_token: string }).refresh_token;
            if (sent - started > restartedAt) recovered.add(index);
          } else if (response.status === 503) {
            // What a well-behaved client does: keep the token, wait a little, retry with the same one.
            await new Promise((resolve) => setTimeout(resolve, 100));
          } else {
            return;
          }
        }
      };

      const chaos = async () => {
        await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
        await server.kill();
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
        await server.start();
        restartedAt = performance.now() - started;
        const deadline = performance.now() + RECOVERY_MS;
        while (recovered.size < CONNECTIONS && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        stopAt = performance.now() - started + LOAD_AFTER_RECOVERY_MS;
      };

      await Promise.all([chaos(), ...tokens.map((_token, index) => worker(index))]);
      const all = outcomes.flat();
      const statuses = new Set(all.map((outcome) => outcome.status));

      // The outage was seen, and answered only with 503 + Retry-After + the JSON error body.
      expect([...statuses].sort()).toEqual([200, 503]);
      for (const outcome of all.filter((o) => o.status === 503)) {
        expect(outcome.retryAfter).toMatch(/^\d+$/);
        expect(outcome.body).toEqual({ code: 503, message: 'Service temporarily unavailable.' });
      }
      // No request held past the deadline (plus the request's own work).
      const slowest = Math.max(...all.map((outcome) => outcome.ms));
      expect(slowest).toBeLessThan(OPERATION_TIMEOUT_MS + LATENCY_SLACK_MS);
      // Recovery without restarting our server: every client got 200s again after the restart.
      expect(recovered.size).toBe(CONNECTIONS);
      for (const perClient of outcomes) expect(perClient.at(-1)?.status).toBe(200);

      // Every family has one current token, and it is the one its client holds.
      const live = await subject.liveByFamily(store, familyIds);
      expect(familyIds.map((id) => live.get(id) ?? 0)).toEqual(familyIds.map(() => 1));
      const hash = createTokenHasher(undefined);
      for (const [index, token] of tokens.entries()) {
        const current = await store.findByHash(hash(token));
        expect(current).toMatchObject({ familyId: familyIds[index], rotatedAt: null, revokedAt: null });
      }
      // No issued successor lost: one record per login, plus one per 200.
      const successes = all.filter((outcome) => outcome.status === 200).length;
      expect(await store.count()).toBe(countBefore + successes);

      // The log names the store, the operation and the driver's code; never a token or a hash.
      const storeLines = log.entries.filter(
        (entry) => (entry.fields.error as { code?: string } | undefined)?.code === 'ERR_STORE_UNAVAILABLE',
      );
      expect(storeLines.length).toBeGreaterThan(0);
      for (const entry of storeLines) {
        expect(entry.fields.error).toMatchObject({
          store: expect.any(String),
          operation: expect.any(String),
          driverCode: expect.anything(),
        });
      }
      const logged = JSON.stringify(log.entries);
      for (const token of tokens) {
        expect(logged).not.toContain(token);
        expect(logged).not.toContain(hash(token));
      }
    });
  });
}

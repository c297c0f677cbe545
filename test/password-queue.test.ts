import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryUserProvider } from '../src/auth/memory-user-provider.js';
import type { PasswordHasher } from '../src/auth/password-hasher.js';
import type { User, UserProvider } from '../src/auth/user.js';
import { createJwtRefresh, type JwtRefresh } from '../src/create-jwt-refresh.js';
import { createMemoryStore } from '../src/stores/memory.js';
import { threadPoolSize } from '../src/auth/password-check-queue.js';
import { recordingLogger } from './support/recording-logger.js';
import { testSigningKey } from './support/app-options.js';
import { ensureBuilt } from './support/cli.js';
import { type RunningServer, spawnServer, killServer } from './support/spawn-server.js';

/**
 * A hasher whose every verification waits until the test opens the gate, so
 * the test sees how many checks run at once without timing anything. The
 * stored "hash" of a user is `ok:<password>`; the timing dummy is `dummy`.
 */
function gatedHasher() {
  let open: () => void = () => {};
  let gate = new Promise<void>((resolve) => (open = resolve));
  const inFlight: string[] = [];
  let maxInFlight = 0;
  const verified: string[] = [];
  const hasher: PasswordHasher = {
    hash: async () => 'dummy',
    async verify(hash, plain) {
      inFlight.push(hash);
      maxInFlight = Math.max(maxInFlight, inFlight.length);
      await gate;
      inFlight.splice(inFlight.indexOf(hash), 1);
      verified.push(hash);
      return hash === `ok:${plain}`;
    },
    needsRehash: () => false,
  };
  return {
    hasher,
    inFlight,
    verified,
    maxInFlight: () => maxInFlight,
    release() {
      open();
      gate = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

/** Resolves once pending promise callbacks (the queue's hand-offs, the fake hasher's bookkeeping) have run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('bounded password checks', () => {
  let jwtRefresh: JwtRefresh | null = null;
  afterEach(async () => {
    await jwtRefresh?.close();
    jwtRefresh = null;
  });

  function login(username: string, password: string): Promise<Response> {
    return jwtRefresh!
      .handle(
        new Request('http://localhost/api/login_check', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        }),
      )
      .then((response) => response!);
  }

  it('runs `concurrency` checks, queues `maxQueued`, and answers 429 with Retry-After beyond, unknown users included', async () => {
    const gated = gatedHasher();
    const users: User[] = [{ id: 'u-1', identifier: 'alice', roles: ['ROLE_USER'], passwordHash: 'ok:right' }];
    const memory = createMemoryUserProvider(users);
    const lookups: string[] = [];
    const userProvider: UserProvider = {
      loadUserById: (id) => memory.loadUserById(id),
      loadUserByIdentifier: (identifier) => {
        lookups.push(identifier);
        return memory.loadUserByIdentifier(identifier);
      },
    };
    const failures: unknown[] = [];
    jwtRefresh = await createJwtRefresh({
      jwt: { algorithm: 'ES256', secretKey: await testSigningKey() },
      store: createMemoryStore(),
      userProvider,
      passwordHasher: gated.hasher,
      passwordHashing: { concurrency: 2, maxQueued: 3, retryAfterSeconds: 7 },
    });
    jwtRefresh.events.on('authenticationFailure', (event) => void failures.push(event.error));

    // 2 running + 3 waiting: unknown users (a dummy verification) take slots like anyone else.
    const admitted = [
      login('nobody-1', 'guess'),
      login('alice', 'right'),
      login('nobody-2', 'guess'),
      login('alice', 'wrong'),
      login('nobody-3', 'guess'),
    ];
    await settle();
    expect(gated.inFlight).toEqual(['dummy', 'ok:right']);

    // The sixth is refused at once: no lookup, no hashing, no failure event.
    const refused = await login('nobody-4', 'guess');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(await refused.json()).toEqual({ code: 429, message: 'Too many requests.' });
    expect(lookups).not.toContain('nobody-4');
    expect(gated.inFlight).toHaveLength(2);

    // Released, the queue drains two at a time, first come first served.
    for (let round = 0; round < 3; round += 1) {
      gated.release();
      await settle();
    }
    const statuses = await Promise.all(admitted.map(async (response) => (await response).status));
    expect(statuses).toEqual([401, 200, 401, 401, 401]);
    expect(gated.maxInFlight()).toBe(2);
    expect(gated.verified).toEqual(['dummy', 'ok:right', 'dummy', 'ok:right', 'dummy']);
    expect(failures).toHaveLength(4);

    // Nothing is left holding a slot: a new login goes straight through.
    const again = login('alice', 'right');
    await settle();
    gated.release();
    expect((await again).status).toBe(200);
  });

  it('with maxQueued 0, refuses every login while the slots are busy', async () => {
    const gated = gatedHasher();
    jwtRefresh = await createJwtRefresh({
      jwt: { algorithm: 'ES256', secretKey: await testSigningKey() },
      store: createMemoryStore(),
      userProvider: createMemoryUserProvider([]),
      passwordHasher: gated.hasher,
      passwordHashing: { concurrency: 1, maxQueued: 0 },
    });
    const first = login('nobody', 'guess');
    await settle();
    const second = await login('nobody', 'guess');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    gated.release();
    expect((await first).status).toBe(401);
  });
  it('warns at start when the concurrency would hold every libuv thread', async () => {
    const { logger, entries } = recordingLogger();
    const poolSize = threadPoolSize();
    jwtRefresh = await createJwtRefresh({
      jwt: { algorithm: 'ES256', secretKey: await testSigningKey() },
      store: createMemoryStore(),
      userProvider: createMemoryUserProvider([]),
      passwordHasher: gatedHasher().hasher,
      passwordHashing: { concurrency: poolSize },
      logger,
    });
    expect(entries).toEqual([expect.objectContaining({ level: 'warn', fields: { concurrency: poolSize, threadPoolSize: poolSize } })]);
  });
});

describe('the standalone server', () => {
  let cwd: string | null = null;
  let server: RunningServer | null = null;
  afterEach(async () => {
    await killServer(server);
    server = null;
    if (cwd !== null) rmSync(cwd, { recursive: true, force: true });
  });

  it('limits logins per client IP by default: past `rateLimit.login`, 429 with Retry-After', async () => {
    ensureBuilt();
    cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-login-limit-'));
    // `enabled` left out: the server's default decides. A day-long window (fixed windows start at
    // multiples of their length) keeps the attempts from straddling a window boundary.
    const configFile = join(cwd, 'jwt-refresh.json');
    writeFileSync(configFile, JSON.stringify({ rateLimit: { login: 3, windowSeconds: 86_400 } }));
    server = await spawnServer({ LOG_LEVEL: 'warn', JWT_REFRESH_CONFIG: configFile }, cwd);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const response = await fetch(`${server.baseUrl}/api/login_check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'demo', password: 'not the password' }),
      });
      await response.arrayBuffer();
      statuses.push(response.status);
      retryAfter = response.headers.get('retry-after');
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});

/**
 * The Redis store, on ioredis.
 *
 * ioredis was chosen for `defineCommand`: a Lua script registered once runs
 * by EVALSHA (ioredis loads it again by itself after a `SCRIPT FLUSH` or a
 * server restart), and every multi-key mutation here is one script, which is
 * what makes rotation atomic. It also ships its own TypeScript types.
 *
 * Key layout, for a namespace `ns` = `${keyPrefix}${tableName}:`:
 *
 * | key | type | content |
 * | --- | --- | --- |
 * | `ns token:{hash}` | hash | the record, fields named like the SQLite columns; instants as ms strings; null = absent field |
 * | `ns family:{familyId}` | set | token hashes of the family |
 * | `ns user:{userId}` | set | token hashes of the user |
 * | `ns expiry` | sorted set | token hashes scored by `validUntil` (ms), for `deleteExpired` and `count` |
 * | `ns blocked:{jti}` | string | blocked until (ms) |
 * | `ns revoked-before:{userId}` | string | the watermark (ms) |
 * | `ns rl:{key}:{windowStart}` | string | hits in the window |
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError, StoreError } from '../errors.js';
import { rateLimitWindow } from './rate-limit-window.js';
import { redisScripts, type RedisScriptName } from './redis-scripts.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './store.js';
import { assertBatchSize, summariseFamilies } from './store-records.js';

/**
 * Options of {@link createRedisStore}. Give exactly one of `url` and `client`.
 *
 * @example
 * const options: RedisStoreOptions = { url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' };
 */
export interface RedisStoreOptions {
  /** Redis URL (`redis://[:password@]host:port[/db]`, `rediss://` for TLS). The store opens this connection and `close()` closes it. */
  url?: string;
  /**
   * An ioredis client the app owns: `close()` leaves it open. It must not have
   * ioredis's own `keyPrefix` option set (the scripts build keys that option
   * would not prefix); use this store's `keyPrefix` instead.
   */
  client?: Redis;
  /** Prefix of every key, so several apps can share one Redis. Default `jwt-refresh:`. */
  keyPrefix?: string;
  /**
   * Second part of the key namespace (`${keyPrefix}${tableName}:`), an identifier
   * (`/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`) so one config fits every store. Default `refresh_tokens`.
   */
  tableName?: string;
  /** Accepted so one config fits every store; Redis has no schema, so it changes nothing. */
  migrate?: boolean;
}

/** A record hash as Redis returns it: every present field as a string. */
type RecordHash = Record<string, string>;

const DEFAULT_KEY_PREFIX = 'jwt-refresh:';
const DEFAULT_TABLE_NAME = 'refresh_tokens';
// The SQL stores' identifier rule, so a tableName valid for one store is valid for all.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * How long a token key outlives `max(validUntil, now)`. Rotated and revoked
 * records must stay until their `validUntil` for reuse detection; the extra
 * day absorbs clock skew between app servers and Redis and leaves
 * `deleteExpired` the first chance to remove a record with its index entries.
 */
const TOKEN_RETENTION_MARGIN_MS = 24 * 60 * 60 * 1000;
/**
 * How long blocklist entries and rate-limit windows outlive their end: their
 * exact end is compared on read, the key expiry only has to cover clock skew.
 */
const CLOCK_SKEW_MARGIN_MS = 5 * 60 * 1000;
/** Keys per SCAN step of {@link RedisRefreshTokenStore.purgeExpiredState}. */
const SCAN_COUNT = 500;

/**
 * A {@link RefreshTokenStore} on Redis through ioredis, chosen for its
 * `defineCommand` Lua scripts (run by EVALSHA, reloaded by ioredis on
 * NOSCRIPT) and its built-in TypeScript types. Build it with
 * {@link createRedisStore}.
 *
 * Every mutation that spans keys or reads before it writes (insert, touch,
 * rotate, revoke, revokeFamily, revokeUser, deleteExpired, blockAccessToken,
 * setRevokedBefore, hitRateLimit) is one Lua script from
 * `redis-scripts.ts`, so it is atomic against every other client of the
 * server. A token key expires by itself at `max(validUntil, now) + 1 day`
 * (server clock); index entries of records Redis expired are dropped by
 * `revokeFamily`/`revokeUser`, `deleteExpired`, `count` and
 * `purgeExpiredState`, and ignored by `listFamilies`.
 *
 * Needs Redis 6.2 or later (tested on 7.0). On Redis Cluster, put a hash tag
 * in `keyPrefix` (e.g. `{jwt-refresh}:`) so every key of the store shares a slot.
 *
 * @example
 * const store = new RedisRefreshTokenStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' });
 * const record = await store.findByHash(hash);
 */
export class RedisRefreshTokenStore implements RefreshTokenStore {
  /** The ioredis client, exposed for tests and operators that inspect raw keys. */
  readonly client: Redis;
  /** The key prefix given (or the default). */
  readonly keyPrefix: string;
  /** The validated table name. */
  readonly tableName: string;
  /** Prefix of every key this store touches: `${keyPrefix}${tableName}:`. */
  readonly namespace: string;
  readonly #ownsClient: boolean;
  readonly #commandNames: Record<RedisScriptName, string>;
  #closed = false;

  /**
   * Opens or adopts the connection and registers the Lua scripts. Nothing is
   * awaited: ioredis queues commands until the connection is ready, so the
   * store is usable at once. Fails with a {@link ConfigError} on bad options.
   *
   * @example
   * const store = new RedisRefreshTokenStore({ client: appRedis, keyPrefix: 'billing:' });
   */
  constructor(options: RedisStoreOptions) {
    const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    if (!IDENTIFIER.test(tableName)) {
      throw new ConfigError(
        'stores.redis.tableName: expected an identifier (a letter or "_", then letters, digits or "_", 63 characters at most)',
      );
    }
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new ConfigError('stores.redis: expected exactly one of `url` and `client`');
    }
    if (options.client !== undefined && (options.client.options.keyPrefix ?? '') !== '') {
      throw new ConfigError(
        'stores.redis.client: expected a client without ioredis `keyPrefix`; set the store\'s `keyPrefix` instead',
      );
    }
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.tableName = tableName;
    this.namespace = `${this.keyPrefix}${tableName}:`;
    if (options.client !== undefined) {
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      this.client = openClient(options.url ?? '');
      this.#ownsClient = true;
    }
    this.#commandNames = registerScripts(this.client);
  }

  /**
   * Nothing to create: Redis has no schema. Answers `[]`.
   *
   * @example
   * expect(await store.migrate()).toEqual([]);
   */
  async migrate(): Promise<number[]> {
    return [];
  }

  /**
   * Stores a new record with its index entries; rejects with a
   * {@link StoreError} when its hash exists.
   *
   * @example
   * await store.insert(record);
   */
  async insert(record: RefreshTokenRecord): Promise<void> {
    await this.#run('insert', async () => {
      const outcome = await this.#script(
        'insert',
        [this.#tokenKey(record.tokenHash), this.#familyKey(record.familyId), this.#userKey(record.userId), this.#expiryKey],
        [record.tokenHash, record.validUntil.getTime(), TOKEN_RETENTION_MARGIN_MS, ...toFields(record)],
      );
      if (outcome === 'exists') {
        throw new StoreError('insert', { cause: new Error('a record with this token hash exists') });
      }
    });
  }

  /**
   * The record with this hash, whatever its state, or null.
   *
   * @example
   * const record = await store.findByHash(hash);
   */
  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    return this.#run('findByHash', async () => {
      const fields = await this.client.hgetall(this.#tokenKey(tokenHash));
      return isEmpty(fields) ? null : fromFields(fields);
    });
  }

  /**
   * Extends a record that is neither rotated nor revoked, moving its key
   * expiry and its validity-index score along; false when there is none.
   *
   * @example
   * await store.touch(hash, newValidUntil, now);
   */
  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    return this.#run('touch', async () => {
      const changed = await this.#script(
        'touch',
        [this.#tokenKey(tokenHash), this.#expiryKey],
        [tokenHash, validUntil.getTime(), lastUsedAt.getTime(), TOKEN_RETENTION_MARGIN_MS, this.namespace],
      );
      return changed === 1;
    });
  }

  /**
   * The compare-and-set of rotation as one Lua script: it answers 'conflict'
   * unless the parent exists with neither `rotated_at` nor `revoked_at`,
   * fails when the successor's hash is taken, and otherwise marks the parent
   * and writes the successor with its index entries. Redis runs a script
   * without interleaving any other command, so of N concurrent calls, over
   * any number of connections, exactly one finds the parent unrotated.
   *
   * @example
   * if ((await store.rotate(parentHash, successor, now)) === 'conflict') treatAsReuse();
   */
  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    return this.#run('rotate', async () => {
      const outcome = await this.#script(
        'rotate',
        [
          this.#tokenKey(parentHash),
          this.#tokenKey(successor.tokenHash),
          this.#familyKey(successor.familyId),
          this.#userKey(successor.userId),
          this.#expiryKey,
        ],
        [
          successor.tokenHash,
          successor.validUntil.getTime(),
          TOKEN_RETENTION_MARGIN_MS,
          rotatedAt.getTime(),
          ...toFields(successor),
        ],
      );
      if (outcome === 'successor-exists') {
        throw new StoreError('rotate', { cause: new Error('a record with the successor\'s token hash exists') });
      }
      return outcome === 'rotated' ? 'rotated' : 'conflict';
    });
  }

  /**
   * Revokes one record unless it is revoked already; answers whether it changed.
   *
   * @example
   * await store.revoke(hash, now);
   */
  async revoke(tokenHash: string, revokedAt: Date): Promise<boolean> {
    return this.#run('revoke', async () => {
      return (await this.#script('revoke', [this.#tokenKey(tokenHash)], [revokedAt.getTime()])) === 1;
    });
  }

  /**
   * Revokes every not-yet-revoked record of a family in one script, so a
   * rotation either ran before (its successor is revoked too) or runs after
   * (it finds the parent revoked and answers 'conflict').
   *
   * @example
   * await store.revokeFamily(familyId, now);
   */
  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeFamily', async () => {
      return toCount(await this.#script('revokeSet', [this.#familyKey(familyId)], [this.namespace, revokedAt.getTime()]));
    });
  }

  /**
   * Revokes every not-yet-revoked record of a user in one script; answers how many changed.
   *
   * @example
   * await store.revokeUser(userId, now);
   */
  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeUser', async () => {
      return toCount(await this.#script('revokeSet', [this.#userKey(userId)], [this.namespace, revokedAt.getTime()]));
    });
  }

  /**
   * The user's families with a live current token, newest login first, as
   * the SQLite store's query aggregates them: `createdAt` is the family's
   * earliest record, `lastUsedAt` its latest use, the client metadata that of
   * the live token (the newest generation, should there be several). Reads
   * the user's set, then every record in one pipeline.
   *
   * @example
   * const sessions = await store.listFamilies(userId, now);
   */
  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    const records = await this.#run('listFamilies', async () => {
      const hashes = await this.client.smembers(this.#userKey(userId));
      if (hashes.length === 0) {
        return [];
      }
      const pipeline = this.client.pipeline();
      for (const hash of hashes) {
        pipeline.hgetall(this.#tokenKey(hash));
      }
      const replies = (await pipeline.exec()) ?? [];
      const found: RefreshTokenRecord[] = [];
      for (const [error, fields] of replies) {
        if (error !== null) {
          throw error;
        }
        // An empty hash is a record Redis expired after the set was read.
        if (!isEmpty(fields as RecordHash)) {
          found.push(fromFields(fields as RecordHash));
        }
      }
      return found;
    });
    return summariseFamilies(records.filter((record) => record.userId === userId), now);
  }

  /**
   * Deletes up to `batchSize` records valid until before `before`, oldest
   * first through the validity sorted set, with their index entries; call
   * again until it answers 0. A record Redis already expired (when this has
   * not run within a day of its `validUntil`) counts as deleted.
   *
   * @example
   * while ((await store.deleteExpired(now, 1000)) > 0) {}
   */
  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    return this.#run('deleteExpired', async () => {
      return toCount(await this.#script('deleteExpired', [this.#expiryKey], [this.namespace, before.getTime(), batchSize]));
    });
  }

  /**
   * Number of stored records, whatever their state: the size of the validity
   * sorted set, after dropping entries of records Redis expired.
   *
   * @example
   * const total = await store.count();
   */
  async count(): Promise<number> {
    return this.#run('count', async () => (await this.#pruneValidity()).left);
  }

  /**
   * Closes the connection if the store opened it; an app-owned client stays
   * open. Safe to call twice.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    if (!this.#ownsClient || this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.client.status === 'ready') {
      await this.#run('close', async () => {
        await this.client.quit();
      });
    } else {
      // Not connected (yet or any more): QUIT would wait for a connection that may never come.
      this.client.disconnect();
    }
  }

  /**
   * Blocks `jti` until `expiresAt`; a later expiry wins. The entry's key
   * expires by itself shortly after.
   *
   * @example
   * await store.blockAccessToken(claims.jti, new Date(claims.exp * 1000));
   */
  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    await this.#run('blockAccessToken', async () => {
      await this.#script('blockAccessToken', [this.#key(`blocked:${jti}`)], [expiresAt.getTime(), CLOCK_SKEW_MARGIN_MS]);
    });
  }

  /**
   * Whether `jti` is blocked at `now` (compared with the stored instant, not the key's expiry).
   *
   * @example
   * if (await store.isAccessTokenBlocked(claims.jti, now)) refuse();
   */
  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    return this.#run('isAccessTokenBlocked', async () => {
      const until = await this.client.get(this.#key(`blocked:${jti}`));
      return until !== null && Number(until) > now.getTime();
    });
  }

  /**
   * Moves the user's "revoked before" watermark forward to `at`.
   *
   * @example
   * await store.setRevokedBefore(userId, now);
   */
  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    await this.#run('setRevokedBefore', async () => {
      await this.#script('setRevokedBefore', [this.#key(`revoked-before:${userId}`)], [at.getTime()]);
    });
  }

  /**
   * The user's watermark, or null.
   *
   * @example
   * const before = await store.getRevokedBefore(userId);
   */
  async getRevokedBefore(userId: string): Promise<Date | null> {
    return this.#run('getRevokedBefore', async () => {
      const at = await this.client.get(this.#key(`revoked-before:${userId}`));
      return at === null ? null : new Date(Number(at));
    });
  }

  /**
   * One hit of `key` in its fixed window: INCR of a counter per window,
   * which expires by itself shortly after the window ends.
   *
   * @example
   * const { count, resetAt } = await store.hitRateLimit(`login:${ip}`, 60, now);
   */
  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    return this.#run('hitRateLimit', async () => {
      const count = await this.#script(
        'hitRateLimit',
        [this.#key(`rl:${key}:${window.startMs}`)],
        [window.resetAt.getTime(), CLOCK_SKEW_MARGIN_MS],
      );
      return { count: toCount(count), resetAt: window.resetAt };
    });
  }

  /**
   * Redis expires blocklist entries and rate-limit windows by itself, so
   * `before` is not needed. This drops index entries (validity sorted set,
   * family and user sets) of token records Redis expired, SCANning the
   * store's family and user sets; the sets expire with their longest-lived
   * member anyway, so that part is optional housekeeping.
   *
   * Watermark keys get no expiry when written: how long one matters depends
   * on the access-token TTL, which the store does not know. With
   * `watermarksBefore`, this SCANs them and deletes those older than it.
   * Answers how many entries and watermarks it dropped.
   *
   * @example
   * await store.purgeExpiredState(now, new Date(now.getTime() - (tokenTtl + clockSkew) * 1000));
   */
  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    void before;
    return this.#run('purgeExpiredState', async () => {
      let removed = (await this.#pruneValidity()).removed;
      for (const kind of ['family:', 'user:']) {
        for await (const key of this.#scan(kind)) {
          removed += toCount(await this.#script('pruneSet', [key], [this.namespace]));
        }
      }
      if (watermarksBefore !== undefined) {
        for await (const key of this.#scan('revoked-before:')) {
          removed += toCount(await this.#script('purgeWatermark', [key], [watermarksBefore.getTime()]));
        }
      }
      return removed;
    });
  }

  /** The store's keys starting with `${namespace}${kind}`, by SCAN (the namespace matched literally). */
  async *#scan(kind: string): AsyncGenerator<string> {
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${escapeGlob(this.#key(kind))}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      yield* keys;
    } while (cursor !== '0');
  }

  get #expiryKey(): string {
    return this.#key('expiry');
  }

  #key(suffix: string): string {
    return `${this.namespace}${suffix}`;
  }

  #tokenKey(tokenHash: string): string {
    return this.#key(`token:${tokenHash}`);
  }

  #familyKey(familyId: string): string {
    return this.#key(`family:${familyId}`);
  }

  #userKey(userId: string): string {
    return this.#key(`user:${userId}`);
  }

  async #pruneValidity(): Promise<{ removed: number; left: number }> {
    const reply = await this.#script('pruneValidity', [this.#expiryKey], [this.namespace, TOKEN_RETENTION_MARGIN_MS]);
    if (!Array.isArray(reply)) {
      throw new Error('unexpected reply from the pruneValidity script');
    }
    return { removed: toCount(reply[0]), left: toCount(reply[1]) };
  }

  /** Runs a script registered by {@link registerScripts} (EVALSHA, loading it on NOSCRIPT). */
  async #script(name: RedisScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const command: unknown = Reflect.get(this.client, this.#commandNames[name]);
    if (typeof command !== 'function') {
      throw new Error(`script ${name} is not registered on the client`);
    }
    return (command as (...commandArgs: Array<string | number>) => Promise<unknown>).apply(this.client, [...keys, ...args]);
  }

  /** Runs driver work, turning any failure into a StoreError that keeps the driver's message in `cause` only. */
  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw error instanceof StoreError ? error : new StoreError(operation, { cause: error });
    }
  }
}

/**
 * A {@link RedisRefreshTokenStore} on a connection it opens (and closes) from
 * `url`, or on an ioredis client the app owns. Keys live under
 * `${keyPrefix}${tableName}:`, so apps sharing a Redis only need distinct prefixes.
 *
 * @example
 * const store = createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
 * // or, sharing the app's client:
 * const shared = createRedisStore({ client: appRedis, keyPrefix: 'shop:' });
 */
export function createRedisStore(options: RedisStoreOptions): RedisRefreshTokenStore {
  return new RedisRefreshTokenStore(options);
}

/**
 * How long a connection attempt may take before ioredis gives up on it and
 * retries. Its default (10 s) times ioredis's default 20 retries per command
 * made every call hang 73 to 107 s with Redis unreachable.
 */
const CONNECT_TIMEOUT_MS = 5000;
/**
 * Reconnections a queued command waits through before it fails: one, so a
 * request with Redis down fails within about two connect timeouts instead of
 * hanging; an app wanting more patience passes its own `client`.
 */
const MAX_RETRIES_PER_REQUEST = 1;

function openClient(url: string): Redis {
  const client = new Redis(url, { connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST });
  // Failures reach callers as StoreErrors on the calls themselves; without a listener
  // ioredis would print every reconnection error to stderr.
  client.on('error', () => {});
  return client;
}

/**
 * Defines every script on the client under a name carrying a digest of its
 * source, once per client and source, so stores sharing a client share the
 * definitions and two package versions never run each other's scripts.
 */
function registerScripts(client: Redis): Record<RedisScriptName, string> {
  const names = {} as Record<RedisScriptName, string>;
  for (const [name, script] of Object.entries(redisScripts) as Array<[RedisScriptName, (typeof redisScripts)[RedisScriptName]]>) {
    const digest = createHash('sha1').update(script.lua).digest('hex').slice(0, 12);
    const commandName = `jwtRefresh_${name}_${digest}`;
    if (typeof Reflect.get(client, commandName) !== 'function') {
      client.defineCommand(commandName, { lua: script.lua, numberOfKeys: script.numberOfKeys });
    }
    names[name] = commandName;
  }
  return names;
}

/** The record as field/value pairs for HSET; a null value is left out. */
function toFields(record: RefreshTokenRecord): string[] {
  const fields: Array<[string, string | number | Date | null]> = [
    ['id', record.id],
    ['token_hash', record.tokenHash],
    ['user_id', record.userId],
    ['user_identifier', record.userIdentifier],
    ['family_id', record.familyId],
    ['generation', record.generation],
    ['valid_until', record.validUntil],
    ['family_deadline', record.familyDeadline],
    ['created_at', record.createdAt],
    ['last_used_at', record.lastUsedAt],
    ['rotated_at', record.rotatedAt],
    ['successor_hash', record.successorHash],
    ['revoked_at', record.revokedAt],
    ['user_agent', record.userAgent],
    ['ip', record.ip],
    ['metadata', record.metadata],
  ];
  return fields.flatMap(([field, value]) =>
    value === null ? [] : [field, value instanceof Date ? String(value.getTime()) : String(value)],
  );
}

function fromFields(fields: RecordHash): RefreshTokenRecord {
  return {
    id: required(fields, 'id'),
    tokenHash: required(fields, 'token_hash'),
    userId: required(fields, 'user_id'),
    userIdentifier: required(fields, 'user_identifier'),
    familyId: required(fields, 'family_id'),
    generation: Number(required(fields, 'generation')),
    validUntil: new Date(Number(required(fields, 'valid_until'))),
    familyDeadline: optionalDate(fields.family_deadline),
    createdAt: new Date(Number(required(fields, 'created_at'))),
    lastUsedAt: optionalDate(fields.last_used_at),
    rotatedAt: optionalDate(fields.rotated_at),
    successorHash: fields.successor_hash ?? null,
    revokedAt: optionalDate(fields.revoked_at),
    userAgent: fields.user_agent ?? null,
    ip: fields.ip ?? null,
    metadata: fields.metadata ?? null,
  };
}

function required(fields: RecordHash, field: string): string {
  const value = fields[field];
  if (value === undefined) {
    // Names the field only: the key (which holds the hash) stays out of the message.
    throw new Error(`stored record lacks the field ${field}`);
  }
  return value;
}

function optionalDate(millis: string | undefined): Date | null {
  return millis === undefined ? null : new Date(Number(millis));
}

function isEmpty(fields: RecordHash): boolean {
  return Object.keys(fields).length === 0;
}

function toCount(reply: unknown): number {
  if (typeof reply !== 'number') {
    throw new Error('unexpected reply from a store script');
  }
  return reply;
}


/** SCAN MATCH treats `* ? [ ] \` as glob syntax; a prefix may contain them literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}


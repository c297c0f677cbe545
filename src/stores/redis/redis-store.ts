/**
 * The Redis store, on ioredis.
 *
 * ioredis was chosen for `defineCommand`: a Lua script registered once runs by EVALSHA (ioredis loads it again by
 * itself after a `SCRIPT FLUSH` or a server restart), and every multi-key mutation here is one script, which is what
 * makes rotation atomic. It also ships its own TypeScript types.
 *
 * Key layout, for a namespace `ns` = `${keyPrefix}${tableName}:`:
 *
 * | key | type | content |
 * | --- | --- | --- |
 * | `ns token:{hash}` | hash | the record, fields named like the SQL columns; instants as ms strings; null = absent field |
 * | `ns family:{familyId}` | set | token hashes of the family |
 * | `ns user:{userId}` | set | token hashes of the user |
 * | `ns expiry` | sorted set | token hashes scored by `validUntil` (ms), for `deleteExpired` and `count` |
 * | `ns blocked:{jti}` | string | blocked until (ms) |
 * | `ns revoked-before:{userId}` | string | the watermark (ms) |
 * | `ns rl:{key}:{windowStart}` | string | hits in the window |
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError, StoreError } from '../../errors.js';
import { attempt } from '../kit/attempt.js';
import { exactlyOne, identifier } from '../kit/options.js';
import { NULLABLE_COLUMNS, TOKEN_COLUMNS, fromRow, toRow, type TokenColumn, type TokenRow } from '../kit/record-codec.js';
import { assertBatchSize, rateLimitWindow, summariseFamilies } from '../kit/records.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from '../store.js';
import { redisScripts, type RedisScriptName } from './redis-scripts.js';

/**
 * Options of {@link createRedisStore}. Give exactly one of `url` and `client`.
 *
 * @example
 * const options: RedisStoreOptions = { url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' };
 */
export interface RedisStoreOptions {
  /** Redis URL (`redis://[:password@]host:port[/db]`, `rediss://` for TLS), a connection the store opens and `close()` closes. */
  url?: string;
  /**
   * An ioredis client the app owns: `close()` leaves it open. It must not have ioredis's own `keyPrefix` option set
   * (the scripts build keys that option would not prefix); use this store's `keyPrefix` instead.
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

/**
 * How long a token key outlives `max(validUntil, now)`. Rotated and revoked records must stay until their `validUntil`
 * for reuse detection; the extra day absorbs clock skew between app servers and Redis and leaves `deleteExpired` the
 * first chance to remove a record with its index entries.
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
 * A {@link RefreshTokenStore} on Redis through ioredis. Build it with {@link createRedisStore}. A token key expires by
 * itself at `max(validUntil, now) + 1 day` (server clock); index entries of records Redis expired are dropped by
 * `revokeFamily`/`revokeUser`, `deleteExpired`, `count` and `purgeExpiredState`, and ignored by `listFamilies`.
 *
 * Needs Redis 6.2 or later (tested on 7.0). On Redis Cluster, put a hash tag in `keyPrefix` (e.g. `{jwt-refresh}:`) so
 * every key of the store shares a slot.
 *
 * @example
 * const store = new RedisRefreshTokenStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' });
 * const record = await store.findByHash(hash);
 */
export class RedisRefreshTokenStore implements RefreshTokenStore {
  /** The ioredis client, exposed for tests and operators that inspect raw keys. */
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly tableName: string;
  /** Prefix of every key this store touches: `${keyPrefix}${tableName}:`. */
  readonly namespace: string;
  readonly #ownsClient: boolean;
  readonly #commandNames: Record<RedisScriptName, string>;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.tableName = identifier('stores.redis.tableName', options.tableName ?? 'refresh_tokens', { kind: 'an identifier' });
    exactlyOne('redis', options, 'url', 'client');
    if (options.client !== undefined && (options.client.options.keyPrefix ?? '') !== '') {
      throw new ConfigError("stores.redis.client: expected a client without ioredis `keyPrefix`; set the store's `keyPrefix` instead");
    }
    this.keyPrefix = options.keyPrefix ?? 'jwt-refresh:';
    this.namespace = `${this.keyPrefix}${this.tableName}:`;
    this.#ownsClient = options.client === undefined;
    this.client = options.client ?? openClient(options.url ?? '');
    this.#commandNames = registerScripts(this.client);
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    const keys = [this.#tokenKey(record.tokenHash), this.#familyKey(record.familyId), this.#userKey(record.userId), this.#expiryKey];
    const args = [record.tokenHash, record.validUntil.getTime(), TOKEN_RETENTION_MARGIN_MS, ...toFields(record)];
    if ((await attempt('insert', () => this.#script('insert', keys, args))) === 'exists') {
      throw new StoreError('insert', { cause: new Error('a record with this token hash exists') });
    }
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    return attempt('findByHash', async () => {
      const fields = await this.client.hgetall(this.#tokenKey(tokenHash));
      return isEmpty(fields) ? null : fromFields(fields);
    });
  }

  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    // The key's expiry and the validity index's score move along with validUntil.
    const args = [tokenHash, validUntil.getTime(), lastUsedAt.getTime(), TOKEN_RETENTION_MARGIN_MS, this.namespace];
    return (await attempt('touch', () => this.#script('touch', [this.#tokenKey(tokenHash), this.#expiryKey], args))) === 1;
  }

  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    // One script, which Redis runs without interleaving any other command, whatever the connections.
    const keys = [
      this.#tokenKey(parentHash),
      this.#tokenKey(successor.tokenHash),
      this.#familyKey(successor.familyId),
      this.#userKey(successor.userId),
      this.#expiryKey,
    ];
    const validUntil = successor.validUntil.getTime();
    const args = [successor.tokenHash, validUntil, TOKEN_RETENTION_MARGIN_MS, rotatedAt.getTime(), ...toFields(successor)];
    const outcome = await attempt('rotate', () => this.#script('rotate', keys, args));
    if (outcome === 'successor-exists') {
      throw new StoreError('rotate', { cause: new Error("a record with the successor's token hash exists") });
    }
    return outcome === 'rotated' ? 'rotated' : 'conflict';
  }

  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    // One script, run once: a racing rotation runs wholly before it (its successor then in the set) or after it.
    return attempt('revokeFamily', async () =>
      toCount(await this.#script('revokeSet', [this.#familyKey(familyId)], [this.namespace, revokedAt.getTime()])),
    );
  }

  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return attempt('revokeUser', async () =>
      toCount(await this.#script('revokeSet', [this.#userKey(userId)], [this.namespace, revokedAt.getTime()])),
    );
  }

  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    // The user's set, then every record in one pipeline, aggregated as the SQL stores' query does.
    const records = await attempt('listFamilies', async () => {
      const hashes = await this.client.smembers(this.#userKey(userId));
      if (hashes.length === 0) return [];
      const pipeline = this.client.pipeline();
      for (const hash of hashes) {
        pipeline.hgetall(this.#tokenKey(hash));
      }
      const found: RefreshTokenRecord[] = [];
      for (const [error, fields] of (await pipeline.exec()) ?? []) {
        if (error !== null) throw error;
        // An empty hash is a record Redis expired after the set was read.
        if (!isEmpty(fields as RecordHash)) found.push(fromFields(fields as RecordHash));
      }
      return found;
    });
    return summariseFamilies(
      records.filter((record) => record.userId === userId),
      now,
    );
  }

  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    // The entry's key expires by itself shortly after expiresAt.
    const args = [expiresAt.getTime(), CLOCK_SKEW_MARGIN_MS];
    await attempt('blockAccessToken', () => this.#script('blockAccessToken', [this.#key(`blocked:${jti}`)], args));
  }

  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    // Compared with the stored instant, not the key's expiry.
    const until = await attempt('isAccessTokenBlocked', () => this.client.get(this.#key(`blocked:${jti}`)));
    return until !== null && Number(until) > now.getTime();
  }

  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    await attempt('setRevokedBefore', () => this.#script('setRevokedBefore', [this.#key(`revoked-before:${userId}`)], [at.getTime()]));
  }

  async getRevokedBefore(userId: string): Promise<Date | null> {
    const at = await attempt('getRevokedBefore', () => this.client.get(this.#key(`revoked-before:${userId}`)));
    return at === null ? null : new Date(Number(at));
  }

  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    // INCR of a counter per window, which expires by itself shortly after the window ends.
    const window = rateLimitWindow(now, windowSeconds);
    const keys = [this.#key(`rl:${key}:${window.startMs}`)];
    const count = await attempt('hitRateLimit', async () =>
      toCount(await this.#script('hitRateLimit', keys, [window.resetAt.getTime(), CLOCK_SKEW_MARGIN_MS])),
    );
    return { count, resetAt: window.resetAt };
  }

  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    // A record Redis already expired (when this has not run within a day of its validUntil) counts as deleted.
    const args = [this.namespace, before.getTime(), batchSize];
    return attempt('deleteExpired', async () => toCount(await this.#script('deleteExpired', [this.#expiryKey], args)));
  }

  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    // Redis expires blocklist entries and windows by itself, so `before` goes unused;
    // this drops index entries of token records Redis expired and SCANs the watermarks.
    void before;
    return attempt('purgeExpiredState', async () => {
      let removed = (await this.#pruneValidity()).removed;
      for (const kind of ['family:', 'user:']) {
        for await (const key of this.#scan(kind)) {
          removed += toCount(await this.#script('pruneSet', [key], [this.namespace]));
        }
      }
      // Watermark keys get no expiry when written: how long one matters depends on the access-token TTL.
      if (watermarksBefore !== undefined) {
        for await (const key of this.#scan('revoked-before:')) {
          removed += toCount(await this.#script('purgeWatermark', [key], [watermarksBefore.getTime()]));
        }
      }
      return removed;
    });
  }

  async count(): Promise<number> {
    // The size of the validity sorted set, after dropping entries of records Redis expired.
    return attempt('count', async () => (await this.#pruneValidity()).left);
  }

  async migrate(): Promise<number[]> {
    return [];
  }

  async close(): Promise<void> {
    if (!this.#ownsClient || this.#closed) return;
    this.#closed = true;
    if (this.client.status === 'ready') {
      await attempt('close', () => this.client.quit());
    } else {
      // Not connected (yet or any more): QUIT would wait for a connection that may never come.
      this.client.disconnect();
    }
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
    if (!Array.isArray(reply)) throw new Error('unexpected reply from the pruneValidity script');
    return { removed: toCount(reply[0]), left: toCount(reply[1]) };
  }

  /** Runs a script registered by {@link registerScripts} (EVALSHA, loading it on NOSCRIPT). */
  async #script(name: RedisScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const command: unknown = Reflect.get(this.client, this.#commandNames[name]);
    if (typeof command !== 'function') throw new Error(`script ${name} is not registered on the client`);
    return (command as (...commandArgs: Array<string | number>) => Promise<unknown>).apply(this.client, [...keys, ...args]);
  }
}

/**
 * A {@link RedisRefreshTokenStore}; apps sharing a Redis only need distinct `keyPrefix`es.
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
 * How long a connection attempt may take before ioredis gives up on it and retries. Its default (10 s) times ioredis's
 * default 20 retries per command made every call hang 73 to 107 s with Redis unreachable.
 */
const CONNECT_TIMEOUT_MS = 5000;
/**
 * Reconnections a queued command waits through before it fails: one, so a request with Redis down fails within about
 * two connect timeouts instead of hanging; an app wanting more patience passes its own `client`.
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
 * Defines every script on the client under a name carrying a digest of its source, once per client and source, so
 * stores sharing a client share the definitions and two package versions never run each other's scripts.
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

/** The record as field/value pairs for HSET: the token table's columns, instants as ms, a null value left out. */
function toFields(record: RefreshTokenRecord): string[] {
  const row = toRow(record, (date) => String(date.getTime()));
  return TOKEN_COLUMNS.flatMap((column) => (row[column] === null ? [] : [column, String(row[column])]));
}

function fromFields(fields: RecordHash): RefreshTokenRecord {
  const value = (column: TokenColumn): string | null => {
    const found = fields[column];
    if (found === undefined && !NULLABLE_COLUMNS.has(column)) {
      // Names the field only: the key (which holds the hash) stays out of the message.
      throw new Error(`stored record lacks the field ${column}`);
    }
    return found ?? null;
  };
  const row = Object.fromEntries(TOKEN_COLUMNS.map((column) => [column, value(column)])) as Omit<TokenRow<string>, 'generation'> & {
    generation: string;
  };
  return fromRow({ ...row, generation: Number(row.generation) }, (millis) => new Date(Number(millis)));
}

function isEmpty(fields: RecordHash): boolean {
  return Object.keys(fields).length === 0;
}

function toCount(reply: unknown): number {
  if (typeof reply !== 'number') throw new Error('unexpected reply from a store script');
  return reply;
}

/** SCAN MATCH treats `* ? [ ] \` as glob syntax; a prefix may contain them literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

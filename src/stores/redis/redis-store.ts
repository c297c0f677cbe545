/**
 * The Redis store, on ioredis.
 *
 * ioredis was chosen for `defineCommand`: a Lua script registered once runs by EVALSHA (ioredis loads it again by
 * itself after a `SCRIPT FLUSH` or a server restart), and every multi-key mutation here is one script, which is what
 * makes rotation atomic. It also ships its own TypeScript types.
 *
 * Key layout, for a namespace `ns` = `${keyPrefix}${tableName}:` (on one Redis server; on Redis Cluster a user's
 * session keys carry the hash tag `{u:<userId>}` and owner keys lead to them: see redis-key-layout.ts):
 *
 * | key | type | content |
 * | --- | --- | --- |
 * | `ns token:<hash>` | hash | the record, fields named like the SQL columns; instants as ms strings; null = absent field |
 * | `ns family:<familyId>` | set | token hashes of the family |
 * | `ns user:<userId>` | set | token hashes of the user |
 * | `ns expiry` | sorted set | token hashes scored by `validUntil` (ms), for `deleteExpired` and `count` |
 * | `ns blocked:<jti>` | string | blocked until (ms) |
 * | `ns revoked-before:<userId>` | string | the watermark (ms) |
 * | `ns rl:<key>:<windowStart>` | string | hits in the window |
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError, StoreError } from '../../errors.js';
import { attempt } from '../kit/attempt.js';
import { createJsonLogger, type Logger } from '../../logger.js';
import { deadlineOf, operationTimeout } from '../kit/operation-timeout.js';
import { identifier, type ServerStoreOptions } from '../kit/options.js';
import { NULLABLE_COLUMNS, TOKEN_COLUMNS, fromRow, toRow, type TokenColumn, type TokenRow } from '../kit/record-codec.js';
import { assertBatchSize, rateLimitWindow, summariseFamilies } from '../kit/records.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from '../store.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { auditRedis } from './redis-audit.js';
import { isClusterClient, openClusterClient, type RedisClient } from './redis-cluster-client.js';
import { escapeGlob, redisKeyLayout, type RedisKeyLayout, type RedisKeyLayoutKind, type SessionKeyKind } from './redis-key-layout.js';
import { scanPages } from './redis-scan.js';
import { redisScripts, type RedisScriptName } from './redis-scripts.js';

/**
 * Options of {@link createRedisStore}. Give exactly one of `url`, `cluster` and `client`.
 *
 * @example
 * const options: RedisStoreOptions = { url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' };
 */
export interface RedisStoreOptions extends ServerStoreOptions {
  /** Redis URL (`redis://[:password@]host:port[/db]`, `rediss://` for TLS), a connection the store opens and `close()` closes. */
  url?: string;
  /**
   * Where the store says, once connected, that Redis would lose or evict what must persist (no RDB nor AOF, an
   * eviction policy other than `noeviction`): see docs/stores.md. Default: JSON lines on stderr, warnings and up.
   */
  logger?: Logger;
  /**
   * An ioredis client the app owns, of one server (`Redis`) or of a cluster (`Cluster`): `close()` leaves it open. Its timeouts and queueing stay as the app set them
   * (ioredis's defaults queue commands while disconnected); `operationTimeoutMs` still bounds every operation. It must not have ioredis's own `keyPrefix` option set
   * (the scripts build keys that option would not prefix); use this store's `keyPrefix` instead.
   */
  client?: RedisClient;
  /**
   * Redis Cluster nodes (`redis://[user:password@]host:port`, `rediss://` for TLS; a few suffice, ioredis finds the
   * others), a cluster connection the store opens and `close()` closes, with the timeouts of `url`'s. A user's session
   * keys then share the slot of `{u:<userId>}`, so users spread over the masters (docs/stores.md, Redis Cluster).
   * An app-owned `new Cluster([...])` as `client` does the same.
   *
   * @example
   * const options: RedisStoreOptions = { cluster: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379'] };
   */
  cluster?: string[];
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
/**
 * How long an owner key (per-user layout) outlives its record's `max(validUntil, now)`: the record's margin, plus the
 * clock skew between the two masters that judge the two expiries.
 */
const OWNER_RETENTION_MARGIN_MS = TOKEN_RETENTION_MARGIN_MS + CLOCK_SKEW_MARGIN_MS;
/** Keys per SCAN step of `purgeExpiredState`, `count` and `deleteExpired` (per-user layout). */
const SCAN_COUNT = 500;
/** The store's name in errors and log lines. */
const STORE = 'redis';

/**
 * A {@link RefreshTokenStore} on Redis through ioredis. Build it with {@link createRedisStore}. A token key expires by
 * itself at `max(validUntil, now) + 1 day` (server clock); index entries of records Redis expired are dropped by
 * `revokeFamily`/`revokeUser`, `deleteExpired`, `count` and `purgeExpiredState`, and ignored by `listFamilies`.
 *
 * Needs Redis 6.2 or later (tested on 7.0). On Redis Cluster (a `cluster` node list, or a `Cluster` client) each user's
 * keys share one slot, so every script touches one slot; a hash tag in `keyPrefix` (e.g. `{jwt-refresh}:`) instead
 * keeps every key of the store in that tag's slot, as before.
 *
 * @example
 * const store = new RedisRefreshTokenStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' });
 * const record = await store.findByHash(hash);
 */
export class RedisRefreshTokenStore implements RefreshTokenStore {
  /** The ioredis client, exposed for tests and operators that inspect raw keys. */
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly tableName: string;
  /** Prefix of every key this store touches: `${keyPrefix}${tableName}:`. */
  readonly namespace: string;
  /** Where the keys live: `single-slot` (one Redis, or a hash tag in `keyPrefix`) or `per-user` (Redis Cluster). */
  readonly keyLayout: RedisKeyLayoutKind;
  readonly #layout: RedisKeyLayout;
  readonly #ownsClient: boolean;
  readonly #commandNames: Record<RedisScriptName, string>;
  readonly #timeoutMs: number;
  /** Settles at the client's next 'ready' (or connection error) while an owned client connects; see {@link #whenReady}. */
  #ready: Promise<void> | undefined;
  /** The owned client's last connection error since it was last ready, the cause of failing fast while Redis is away. */
  #connectionError: Error | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.tableName = identifier('stores.redis.tableName', options.tableName ?? 'refresh_tokens', { kind: 'an identifier' });
    if ([options.url, options.cluster, options.client].filter((way) => way !== undefined).length !== 1) {
      throw new ConfigError('stores.redis: expected exactly one of `url`, `cluster` and `client`');
    }
    if (options.client !== undefined && ioredisKeyPrefix(options.client) !== '') {
      throw new ConfigError("stores.redis.client: expected a client without ioredis `keyPrefix`; set the store's `keyPrefix` instead");
    }
    this.keyPrefix = options.keyPrefix ?? 'jwt-refresh:';
    this.namespace = `${this.keyPrefix}${this.tableName}:`;
    this.#timeoutMs = operationTimeout(STORE, options.operationTimeoutMs);
    // Before any connection opens, so that a refused keyPrefix leaves none behind.
    this.#layout = redisKeyLayout(
      this.namespace,
      options.cluster !== undefined || (options.client !== undefined && isClusterClient(options.client)),
    );
    this.keyLayout = this.#layout.kind;
    this.#ownsClient = options.client === undefined;
    this.client =
      options.client ??
      (options.cluster === undefined
        ? openClient(options.url ?? '', this.#timeoutMs)
        : openClusterClient(options.cluster, this.#timeoutMs));
    this.#commandNames = registerScripts(this.client);
    if (this.#ownsClient) {
      this.client.on('error', (error: Error) => {
        this.#connectionError = error;
      });
      this.client.on('ready', () => {
        this.#connectionError = undefined;
      });
    }
    const logger = options.logger ?? createJsonLogger('warn');
    if (this.client.status === 'ready') void warnAboutDurability(this.client, logger);
    else this.client.once('ready', () => void warnAboutDurability(this.client, logger));
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    const session = this.#layout.sessionPrefix(record.userId);
    const keys = [
      this.#tokenKey(session, record.tokenHash),
      this.#familyKey(session, record.familyId),
      this.#userKey(session, record.userId),
      this.#expiryKey(session),
    ];
    const args = [record.tokenHash, record.validUntil.getTime(), TOKEN_RETENTION_MARGIN_MS, ...toFields(record)];
    const outcome = await this.#run('insert', async () => {
      await this.#claimOwners('insert', record);
      return this.#script('insert', keys, args);
    });
    if (outcome === 'exists') {
      throw new StoreError('insert', { cause: new Error('a record with this token hash exists'), store: STORE });
    }
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    return this.#run('findByHash', async () => {
      const owner = await this.#ownerOf('token', tokenHash);
      if (owner === null) return null;
      const fields = await this.client.hgetall(this.#tokenKey(this.#layout.sessionPrefix(owner), tokenHash));
      return isEmpty(fields) ? null : fromFields(fields);
    });
  }

  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    // The key's expiry and the validity index's score move along with validUntil.
    return this.#run('touch', async () => {
      const owner = await this.#ownerOf('token', tokenHash);
      if (owner === null) return false;
      const session = this.#layout.sessionPrefix(owner);
      if (this.#layout.kind === 'per-user') {
        // The owner keys must outlive the record, so they move first; if touch then refuses, they only linger longer.
        const [familyId] = await this.client.hmget(this.#tokenKey(session, tokenHash), 'family_id');
        if (familyId === null || familyId === undefined) return false;
        await Promise.all([
          this.#extendOwner(this.#layout.tokenOwnerKey(tokenHash), owner, validUntil.getTime()),
          this.#extendOwner(this.#layout.familyOwnerKey(familyId), owner, validUntil.getTime()),
        ]);
      }
      const args = [tokenHash, validUntil.getTime(), lastUsedAt.getTime(), TOKEN_RETENTION_MARGIN_MS, session];
      return (await this.#script('touch', [this.#tokenKey(session, tokenHash), this.#expiryKey(session)], args)) === 1;
    });
  }

  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    // One script, which Redis runs without interleaving any other command, whatever the connections: parent and
    // successor share the slot of their user (per-user layout), which the parent's owner key names.
    const validUntil = successor.validUntil.getTime();
    const args = [successor.tokenHash, validUntil, TOKEN_RETENTION_MARGIN_MS, rotatedAt.getTime(), ...toFields(successor)];
    const outcome = await this.#run('rotate', async () => {
      const owner = await this.#ownerOf('token', parentHash);
      if (owner === null) return 'conflict';
      if (this.#layout.kind === 'per-user' && owner !== successor.userId) {
        // The core never hands a session to another user; on a cluster the two would not even share a slot.
        throw new StoreError('rotate', { cause: new Error('the successor belongs to another user than its parent'), store: STORE });
      }
      const session = this.#layout.sessionPrefix(owner);
      const successorKey = this.#tokenKey(session, successor.tokenHash);
      const keys = [
        this.#tokenKey(session, parentHash),
        successorKey,
        this.#familyKey(session, successor.familyId),
        this.#userKey(session, successor.userId),
        this.#expiryKey(session),
      ];
      const created = await this.#claimOwners('rotate', successor);
      const result = await this.#script('rotate', keys, args);
      // A losing rotation drops the owner key it created, unless a rotation to the same successor (a replay within
      // the grace window) stored it: none can after this one lost, since the parent is rotated or revoked by now.
      if (result !== 'rotated' && created && (await this.client.exists(successorKey)) === 0) {
        await this.#script('releaseOwner', [this.#layout.tokenOwnerKey(successor.tokenHash)], [owner]);
      }
      return result;
    });
    if (outcome === 'successor-exists') {
      throw new StoreError('rotate', { cause: new Error("a record with the successor's token hash exists"), store: STORE });
    }
    return outcome === 'rotated' ? 'rotated' : 'conflict';
  }

  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    // One script, run once: a racing rotation runs wholly before it (its successor then in the set) or after it.
    return this.#run('revokeFamily', async () => {
      const owner = await this.#ownerOf('family', familyId);
      if (owner === null) return 0;
      const session = this.#layout.sessionPrefix(owner);
      return toCount(await this.#script('revokeSet', [this.#familyKey(session, familyId)], [session, revokedAt.getTime()]));
    });
  }

  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    // Every session of the user is in the user's slot: one script, as for a family.
    const session = this.#layout.sessionPrefix(userId);
    return this.#run('revokeUser', async () =>
      toCount(await this.#script('revokeSet', [this.#userKey(session, userId)], [session, revokedAt.getTime()])),
    );
  }

  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    // The user's set, then every record in one pipeline, aggregated as the SQL stores' query does.
    const session = this.#layout.sessionPrefix(userId);
    const records = await this.#run('listFamilies', async () => {
      const hashes = await this.client.smembers(this.#userKey(session, userId));
      if (hashes.length === 0) return [];
      // One slot, so one pipeline even on a cluster.
      const pipeline = this.client.pipeline();
      for (const hash of hashes) {
        pipeline.hgetall(this.#tokenKey(session, hash));
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
    await this.#run('blockAccessToken', () => this.#script('blockAccessToken', [this.#key(`blocked:${jti}`)], args));
  }

  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    // Compared with the stored instant, not the key's expiry.
    const until = await this.#run('isAccessTokenBlocked', () => this.client.get(this.#key(`blocked:${jti}`)));
    return until !== null && Number(until) > now.getTime();
  }

  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    await this.#run('setRevokedBefore', () => this.#script('setRevokedBefore', [this.#key(`revoked-before:${userId}`)], [at.getTime()]));
  }

  async getRevokedBefore(userId: string): Promise<Date | null> {
    const at = await this.#run('getRevokedBefore', () => this.client.get(this.#key(`revoked-before:${userId}`)));
    return at === null ? null : new Date(Number(at));
  }

  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    // INCR of a counter per window, which expires by itself shortly after the window ends.
    const window = rateLimitWindow(now, windowSeconds);
    const keys = [this.#key(`rl:${key}:${window.startMs}`)];
    const count = await this.#run('hitRateLimit', async () =>
      toCount(await this.#script('hitRateLimit', keys, [window.resetAt.getTime(), CLOCK_SKEW_MARGIN_MS])),
    );
    return { count, resetAt: window.resetAt };
  }

  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    // A record Redis already expired (when this has not run within a day of its validUntil) counts as deleted.
    // Per-user layout: validity index after validity index, until the batch is full; oldest first within each.
    return this.#run('deleteExpired', async () => {
      let deleted = 0;
      for await (const page of this.#sessionKeys('expiry')) {
        for (const [key, session] of page) {
          deleted += toCount(await this.#script('deleteExpired', [key], [session, before.getTime(), batchSize - deleted]));
          if (deleted >= batchSize) return deleted;
        }
      }
      return deleted;
    });
  }

  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    // Redis expires blocklist entries and windows by itself, so `before` goes unused;
    // this drops index entries of token records Redis expired and SCANs the watermarks.
    void before;
    return this.#run('purgeExpiredState', async () => {
      let removed = (await this.#pruneValidity()).removed;
      for (const kind of ['family', 'user'] as const) {
        for await (const page of this.#sessionKeys(kind)) {
          const counts = await Promise.all(page.map(([key, session]) => this.#script('pruneSet', [key], [session])));
          removed += counts.reduce<number>((sum, count) => sum + toCount(count), 0);
        }
      }
      // Watermark keys get no expiry when written: how long one matters depends on the access-token TTL.
      if (watermarksBefore !== undefined) {
        for await (const page of scanPages(this.client, `${escapeGlob(this.#key('revoked-before:'))}*`, SCAN_COUNT)) {
          for (const key of page) {
            removed += toCount(await this.#script('purgeWatermark', [key], [watermarksBefore.getTime()]));
          }
        }
      }
      return removed;
    });
  }

  async audit(now: Date, options?: StoreAuditOptions): Promise<StoreAudit> {
    return auditRedis((work) => this.#run('audit', work), this.client, this.#layout, now, options);
  }

  async count(): Promise<number> {
    // The size of the validity sorted set, after dropping entries of records Redis expired.
    return this.#run('count', async () => (await this.#pruneValidity()).left);
  }

  async migrate(): Promise<number[]> {
    return [];
  }

  async ping(): Promise<void> {
    await this.#run('ping', () => this.client.ping());
  }

  async close(): Promise<void> {
    if (!this.#ownsClient || this.#closed) return;
    this.#closed = true;
    if (this.client.status === 'ready') {
      await attempt('close', () => this.client.quit(), { store: STORE });
    } else {
      // Not connected (yet or any more): QUIT would wait for a connection that may never come.
      this.client.disconnect();
    }
  }

  /** Runs `work` as `operation` within the store's deadline, once an owned client is connected. */
  #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError('closed', { cause: new Error('the store was closed'), store: STORE });
    return attempt(
      operation,
      async () => {
        await this.#whenReady();
        return work();
      },
      { store: STORE, timeoutMs: deadlineOf(operation, this.#timeoutMs) },
    );
  }

  /**
   * Resolves once an owned client is connected, so that the store's commands are sent, never queued to run whenever
   * Redis comes back (see {@link openClient}): the operation waits for the connection instead, within its deadline.
   */
  #whenReady(): Promise<void> {
    if (!this.#ownsClient || this.client.status === 'ready') return Promise.resolve();
    // Redis is known to be away (the last connection attempt failed): fail now with why, rather than wait.
    if (this.#connectionError !== undefined && ['reconnecting', 'close', 'end'].includes(this.client.status)) {
      return Promise.reject(this.#connectionError);
    }
    if (this.client.status === 'wait') this.client.connect().catch(() => {});
    // One pair of listeners shared by every waiting operation: settled by the next 'ready' or connection error.
    this.#ready ??= new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        this.client.off('ready', onReady);
        this.client.off('error', settle);
        this.#ready = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = () => settle();
      this.client.once('ready', onReady);
      this.client.once('error', settle);
    });
    return this.#ready;
  }

  /**
   * The session keys of `kind` with their session prefixes, a page at a time: the single-slot layout's one validity
   * index, else what SCAN finds on every master (the namespace matched literally). Validity indexes come once each, so
   * that `count` counts each once; sets may come twice, which pruning them twice allows.
   */
  async *#sessionKeys(kind: SessionKeyKind): AsyncGenerator<Array<[key: string, session: string]>> {
    if (kind === 'expiry' && this.#layout.kind === 'single-slot') {
      yield [[this.#expiryKey(this.namespace), this.namespace]];
      return;
    }
    const seen = new Set<string>();
    for await (const keys of scanPages(this.client, this.#layout.pattern(kind), SCAN_COUNT)) {
      const page: Array<[string, string]> = [];
      for (const key of keys) {
        const session = this.#layout.sessionPrefixOf(key, kind);
        if (session === null || (kind === 'expiry' && seen.has(key))) continue;
        if (kind === 'expiry') seen.add(key);
        page.push([key, session]);
      }
      if (page.length > 0) yield page;
    }
  }

  #key(suffix: string): string {
    return `${this.namespace}${suffix}`;
  }

  #tokenKey(session: string, tokenHash: string): string {
    return `${session}token:${tokenHash}`;
  }

  #familyKey(session: string, familyId: string): string {
    return `${session}family:${familyId}`;
  }

  #userKey(session: string, userId: string): string {
    return `${session}user:${userId}`;
  }

  #expiryKey(session: string): string {
    return `${session}expiry`;
  }

  /**
   * The user a token hash or a family belongs to, as far as key placement goes: per-user layout, what its owner key
   * says (null: none), so a second step finds the record in that user's slot. Owner keys never change owner while
   * what they lead to exists, so the two steps cannot be split by a change. Single-slot layout: every user's keys are
   * in the namespace, so the sentinel '' serves (its session prefix is the namespace).
   */
  async #ownerOf(kind: 'token' | 'family', id: string): Promise<string | null> {
    if (this.#layout.kind === 'single-slot') return '';
    return this.client.get(kind === 'token' ? this.#layout.tokenOwnerKey(id) : this.#layout.familyOwnerKey(id));
  }

  /**
   * Per-user layout: points the record's token hash and family at its user before the record is written, so no record
   * is ever out of reach, and answers whether this call created the token's owner key. Refuses a token hash another
   * user's record holds and a family of another user.
   */
  async #claimOwners(operation: 'insert' | 'rotate', record: RefreshTokenRecord): Promise<boolean> {
    if (this.#layout.kind === 'single-slot') return false;
    const { tokenHash, familyId, userId } = record;
    const validUntil = record.validUntil.getTime();
    const [token, family] = await Promise.all([
      this.#claimOwner(this.#layout.tokenOwnerKey(tokenHash), userId, validUntil, (other) =>
        this.client.exists(this.#tokenKey(this.#layout.sessionPrefix(other), tokenHash)),
      ),
      this.#claimOwner(this.#layout.familyOwnerKey(familyId), userId, validUntil, (other) =>
        this.client.exists(this.#familyKey(this.#layout.sessionPrefix(other), familyId)),
      ),
    ]);
    if (token === 'taken') {
      const what = operation === 'insert' ? 'a record with this token hash exists' : "a record with the successor's token hash exists";
      throw new StoreError(operation, { cause: new Error(what), store: STORE });
    }
    if (family === 'taken') {
      if (token === 'created') await this.#script('releaseOwner', [this.#layout.tokenOwnerKey(tokenHash)], [userId]);
      throw new StoreError(operation, { cause: new Error('the family belongs to another user'), store: STORE });
    }
    return token === 'created';
  }

  /**
   * Makes `key` name `userId`, living at least until the record's own key expires (plus the clock skew between two
   * masters). Another user's entry is taken over only when `stillOwned` finds nothing left of what it led to.
   */
  async #claimOwner(
    key: string,
    userId: string,
    validUntilMs: number,
    stillOwned: (owner: string) => Promise<number>,
  ): Promise<'created' | 'same' | 'taken'> {
    for (let tries = 0; tries < 3; tries += 1) {
      const [status, owner] = ownerReply(await this.#script('claimOwner', [key], [userId, validUntilMs, OWNER_RETENTION_MARGIN_MS]));
      if (status !== 'other') return status;
      if ((await stillOwned(owner)) === 1) return 'taken';
      const took = await this.#script('takeOverOwner', [key], [owner, userId, validUntilMs, OWNER_RETENTION_MARGIN_MS]);
      if (took === 1) return 'created';
    }
    return 'taken';
  }

  /** Keeps an owner key of `userId` alive at least as long as a record valid until `validUntilMs`. */
  async #extendOwner(key: string, userId: string, validUntilMs: number): Promise<void> {
    await this.#script('claimOwner', [key], [userId, validUntilMs, OWNER_RETENTION_MARGIN_MS]);
  }

  /** Drops validity-index entries of records Redis expired, in every validity index, and counts what is left. */
  async #pruneValidity(): Promise<{ removed: number; left: number }> {
    let removed = 0;
    let left = 0;
    for await (const page of this.#sessionKeys('expiry')) {
      const replies = await Promise.all(
        page.map(([key, session]) => this.#script('pruneValidity', [key], [session, TOKEN_RETENTION_MARGIN_MS])),
      );
      for (const reply of replies) {
        if (!Array.isArray(reply)) throw new Error('unexpected reply from the pruneValidity script');
        removed += toCount(reply[0]);
        left += toCount(reply[1]);
      }
    }
    return { removed, left };
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

/** Longest pause between two reconnection attempts, so that service resumes within about a second of Redis coming back. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * The client the store opens, failing fast rather than queueing. ioredis's defaults (a 10 s connect timeout, 20
 * retries per command) made every call hang 73 to 107 s with Redis unreachable, and a command queued while Redis was
 * away would run whenever it came back: a rotation the client was long told had failed could then land outside the
 * reuse grace window. So: connect and command timeouts at `timeoutMs`; the store's operations wait for the connection
 * in {@link RedisRefreshTokenStore.#whenReady}, within their deadline, instead of queueing; a command in flight when
 * the connection drops fails at once (maxRetriesPerRequest 0) and is not sent again after reconnecting. The offline
 * queue itself stays on, for the app's own commands on `store.client` right after opening.
 */
function openClient(url: string, timeoutMs: number): Redis {
  const client = new Redis(url, {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
  });
  // Failures reach callers as StoreErrors on the calls themselves; without a listener
  // ioredis would print every reconnection error to stderr.
  client.on('error', () => {});
  return client;
}

/**
 * Warns when Redis would lose what must persist (docs/stores.md): with neither RDB snapshots nor AOF, a restart
 * forgets every refresh token, the access-token blocklist and the "log out everywhere" watermarks, so logged-out and
 * revoked access tokens work again; with an eviction policy other than `noeviction` under a `maxmemory` limit, Redis
 * may drop those keys to make room. A server that refuses `CONFIG` (managed Redis) is checked on what INFO tells.
 */
async function warnAboutDurability(client: RedisClient, logger: Logger): Promise<void> {
  // Once per Redis server run and process, however many stores (or reconnections) there are.
  const runId = parseInfo(await client.info('server').catch(() => '')).run_id ?? '';
  if (warnedRuns.has(runId)) return;
  warnedRuns.add(runId);
  try {
    const info = parseInfo(await client.info('persistence'));
    const memory = parseInfo(await client.info('memory'));
    const save = await client.config('GET', 'save').then(
      (reply) => (Array.isArray(reply) ? String(reply[1] ?? '') : null),
      () => null,
    );
    const aof = info.aof_enabled === '1';
    // Unknown (CONFIG refused): an RDB save that ran, or is due, shows there are save points.
    const rdb = save === null ? info.rdb_last_bgsave_status === 'ok' && info.rdb_saves !== '0' : save.trim() !== '';
    if (!aof && !rdb) {
      logger.warn(
        { store: STORE, save: save ?? 'unknown', appendonly: 'no' },
        'Redis store: the server persists nothing (no RDB save points, no AOF): a Redis restart forgets every refresh token, the access-token blocklist and "log out everywhere", so logged-out and revoked access tokens work again. Turn on AOF (appendonly yes) or RDB; see docs/stores.md',
      );
    }
    const policy = memory.maxmemory_policy;
    if (policy !== undefined && policy !== 'noeviction' && memory.maxmemory !== '0') {
      logger.warn(
        { store: STORE, maxmemoryPolicy: policy, maxmemory: memory.maxmemory },
        `Redis store: maxmemory-policy ${policy} may evict refresh tokens, blocklist entries and watermarks under memory pressure; use noeviction (docs/stores.md)`,
      );
    }
  } catch {
    // A check that cannot run (ACL forbids INFO, the connection dropped) must not stop the store.
  }
}

/** The `run_id`s of the Redis servers already checked by this process. */
const warnedRuns = new Set<string>();

/** An INFO reply's `field:value` lines as a record. */
function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/**
 * Defines every script on the client under a name carrying a digest of its source, once per client and source, so
 * stores sharing a client share the definitions and two package versions never run each other's scripts.
 */
function registerScripts(client: RedisClient): Record<RedisScriptName, string> {
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

/** A claimOwner reply: whether the key was created or already named the user, or which other user it names. */
function ownerReply(reply: unknown): ['created' | 'same', ''] | ['other', string] {
  if (Array.isArray(reply) && typeof reply[0] === 'string' && typeof reply[1] === 'string') {
    if (reply[0] === 'created' || reply[0] === 'same') return [reply[0], ''];
    if (reply[0] === 'other') return ['other', reply[1]];
  }
  throw new Error('unexpected reply from the claimOwner script');
}

/** ioredis's own `keyPrefix` on an app's client (a cluster's may sit in its node options). */
function ioredisKeyPrefix(client: RedisClient): string {
  if (isClusterClient(client)) return client.options.keyPrefix ?? client.options.redisOptions?.keyPrefix ?? '';
  return client.options.keyPrefix ?? '';
}

/**
 * The MongoDB store, on the official `mongodb` driver (v6).
 *
 * One document per refresh token in `<collectionName>` (default
 * `refresh_tokens`), with the SQLite store's columns as camelCase fields and
 * instants as BSON Dates (millisecond precision, like JS Dates), plus
 * `expiresAt` (= `validUntil`) for a TTL index, so MongoDB purges expired
 * records itself. Companion collections: `<name>_blocklist`,
 * `<name>_watermarks`, `<name>_rate_limits`. Migrations (the indexes) are
 * recorded in `jwt_refresh_migrations`, keyed by `{ collection, version }`.
 *
 * Uniqueness of `tokenHash` does not rest on the unique index alone: inserts
 * are conditional upserts (`$setOnInsert` under a filter on the hash), which
 * a single server applies atomically, so a duplicate is refused even by
 * servers that do not enforce unique secondary indexes (the in-process
 * CongoServer the tests use). On a real mongod the unique index is what
 * makes two racing upserts of one key end with one document: the loser's
 * duplicate-key error is retried by the server as an update (MongoDB 4.2+,
 * SERVER-14322); where it still surfaces, the store retries it once itself.
 *
 * Rotation writes the successor FIRST and marks the parent LAST with one
 * guarded `findOneAndUpdate`, the compare-and-set. So whoever sees the
 * parent rotated also finds its successor, which a grace-window replay of a
 * lost race depends on; see {@link MongoRefreshTokenStore.rotate}.
 */
import { MongoClient, type Collection, type Db, type ObjectId } from 'mongodb';
import { ConfigError, StoreError } from '../errors.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { rateLimitWindow } from './rate-limit-window.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './store.js';
import { assertBatchSize, copyDate, copyRecord } from './store-records.js';

/** Options of {@link createMongoStore}. Give exactly one of `url` and `client`. */
export interface MongoStoreOptions {
  /**
   * Connection string (`mongodb://` or `mongodb+srv://`). The store creates
   * its own `MongoClient`, which connects on first use, and `close()` closes it.
   */
  url?: string;
  /** A `MongoClient` the app owns: the store uses its pool and `close()` leaves it open. */
  client?: MongoClient;
  /**
   * Database of the collections. Default: the database named in `url`, else
   * `jwt_refresh`; with `client`, the client's default database (the driver
   * reports `test` when the client's URL names none, so pass it then).
   */
  databaseName?: string;
  /** Token collection, an identifier (`/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`). Default `refresh_tokens`. */
  collectionName?: string;
  /**
   * Apply missing migrations (indexes) before the first operation. Default
   * true; with false, run {@link MongoRefreshTokenStore.migrate} yourself.
   */
  migrate?: boolean;
  /** Source of the `appliedAt` time of migrations. Default the wall clock. */
  clock?: Clock;
}

/** One schema step of the MongoDB store: indexes on the store's collections. */
export interface MongoMigration {
  /** Strictly increasing from 1; recorded in `jwt_refresh_migrations` once applied. */
  readonly version: number;
  /** Short description, recorded next to the version for operators. */
  readonly name: string;
  /**
   * Creates what the step needs for the token collection `collectionName`.
   * Must be idempotent (`createIndexes` with the same specs is), since two
   * processes may both run a step before one of them records it.
   */
  readonly up: (db: Db, collectionName: string) => Promise<void>;
}

/** Name of the collection that records applied migrations, shared by every token collection of a database. */
export const MONGODB_MIGRATIONS_COLLECTION = 'jwt_refresh_migrations';

/**
 * Every migration of the MongoDB store, oldest first. Append new ones; never
 * edit one that has shipped.
 *
 * TTL indexes use `expireAfterSeconds: 0`: a document goes once the instant
 * in its field has passed (MongoDB's TTL monitor runs about once a minute,
 * so reads still compare instants themselves).
 *
 * @example
 * const latest = mongoMigrations.at(-1)?.version;
 */
export const mongoMigrations: readonly MongoMigration[] = [
  {
    version: 1,
    name: 'create refresh token indexes',
    up: async (db, collectionName) => {
      await db.collection(collectionName).createIndexes([
        { key: { tokenHash: 1 }, unique: true },
        { key: { userId: 1 } },
        { key: { familyId: 1 } },
        // deleteExpired walks this one; the TTL index below is on its own field because
        // MongoDB allows only one index per key pattern.
        { key: { validUntil: 1 } },
        { key: { expiresAt: 1 }, expireAfterSeconds: 0 },
      ]);
    },
  },
  {
    version: 2,
    name: 'create access-token blocklist, revoked-before watermarks and rate-limit windows',
    up: async (db, collectionName) => {
      await db.collection(`${collectionName}_blocklist`).createIndexes([
        { key: { jti: 1 }, unique: true },
        { key: { expiresAt: 1 }, expireAfterSeconds: 0 },
      ]);
      await db.collection(`${collectionName}_watermarks`).createIndexes([{ key: { userId: 1 }, unique: true }]);
      // One document per key AND window: a new window is a new document, so the roll-over
      // needs no read-modify-write, and ended windows expire by TTL.
      await db.collection(`${collectionName}_rate_limits`).createIndexes([
        { key: { key: 1, windowStart: 1 }, unique: true },
        { key: { resetAt: 1 }, expireAfterSeconds: 0 },
      ]);
    },
  },
];

/** A token document: the record's fields, plus `expiresAt` for the TTL index. `_id` is the server's ObjectId. */
interface TokenDocument extends RefreshTokenRecord {
  /** Always equal to `validUntil`: the field of the TTL index. */
  expiresAt: Date;
}

interface BlocklistDocument {
  jti: string;
  expiresAt: Date;
}

interface WatermarkDocument {
  userId: string;
  revokedBefore: Date;
}

interface RateLimitDocument {
  key: string;
  windowStart: Date;
  resetAt: Date;
  count: number;
}

interface MigrationDocument {
  collection: string;
  version: number;
  name: string;
  appliedAt: Date;
}

/** The current token of a family as `listFamilies` groups it, or null for a record that is not live. */
interface LiveCandidate {
  generation: number;
  userIdentifier: string;
  validUntil: Date;
  familyDeadline: Date | null;
  userAgent: string | null;
  ip: string | null;
  metadata: string | null;
}

interface FamilyGroup {
  _id: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  candidates: Array<LiveCandidate | null>;
}

interface Collections {
  tokens: Collection<TokenDocument>;
  blocklist: Collection<BlocklistDocument>;
  watermarks: Collection<WatermarkDocument>;
  rateLimits: Collection<RateLimitDocument>;
}

const DEFAULT_COLLECTION_NAME = 'refresh_tokens';
const DEFAULT_DATABASE_NAME = 'jwt_refresh';
// The SQL stores' identifier rule, so one name fits every store.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
// MongoDB refuses these characters in database names (on any platform) and names over 63 bytes.
const DATABASE_NAME = /^[^/\\. "$*<>:|?\0]{1,63}$/;
// How often an upsert is retried when the hash it lost to was deleted in between (see #insertUnique).
const INSERT_ATTEMPTS = 3;
// How many find-then-delete rounds deleteExpired tries when others delete its batch first.
const DELETE_ROUNDS = 5;

/**
 * A {@link RefreshTokenStore} on MongoDB. Build it with {@link createMongoStore}.
 *
 * The constructor cannot await, so unless `migrate: false` the indexes are
 * created lazily: every method first awaits one memoised migration run (a
 * failed run is retried by the next call). Call {@link migrate} at start to
 * surface a problem early.
 *
 * @example
 * const store = new MongoRefreshTokenStore({ url: 'mongodb://127.0.0.1:27017/app' });
 * const record = await store.findByHash(hash);
 */
export class MongoRefreshTokenStore implements RefreshTokenStore {
  /** The driver client: the store's own (from `url`) or the app's. */
  readonly client: MongoClient;
  /** The database holding the collections. */
  readonly databaseName: string;
  /** The validated token collection name. */
  readonly collectionName: string;
  readonly #ownsClient: boolean;
  readonly #autoMigrate: boolean;
  readonly #clock: Clock;
  readonly #db: Db;
  readonly #c: Collections;
  #migrated: Promise<void> | undefined;

  /**
   * Validates the options and adopts or creates the client; nothing touches
   * the network before the first operation. Fails with a {@link ConfigError}
   * on bad options.
   *
   * @example
   * const store = new MongoRefreshTokenStore({ client: appClient, databaseName: 'app' });
   */
  constructor(options: MongoStoreOptions) {
    const collectionName = options.collectionName ?? DEFAULT_COLLECTION_NAME;
    if (!IDENTIFIER.test(collectionName)) {
      throw new ConfigError(
        'stores.mongodb.collectionName: expected an identifier (a letter or "_", then letters, digits or "_", 63 characters at most)',
      );
    }
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new ConfigError('stores.mongodb: expected exactly one of `url` and `client`');
    }
    let client: MongoClient;
    let urlDatabase: string | undefined;
    if (options.client !== undefined) {
      client = options.client;
      urlDatabase = client.options.dbName;
    } else {
      const url = options.url ?? '';
      try {
        client = new MongoClient(url);
      } catch (error) {
        // The driver's message may quote the URL, credentials included: cause only.
        throw new ConfigError('stores.mongodb.url: expected a mongodb:// or mongodb+srv:// connection string', {
          cause: error,
        });
      }
      urlDatabase = databaseNameFromUrl(url);
    }
    const databaseName = options.databaseName ?? urlDatabase ?? DEFAULT_DATABASE_NAME;
    if (!DATABASE_NAME.test(databaseName)) {
      throw new ConfigError(
        'stores.mongodb.databaseName: expected 1 to 63 characters, none of / \\ . space " $ * < > : | ?',
      );
    }
    this.client = client;
    this.#ownsClient = options.client === undefined;
    this.databaseName = databaseName;
    this.collectionName = collectionName;
    this.#autoMigrate = options.migrate !== false;
    this.#clock = options.clock ?? systemClock;
    this.#db = client.db(databaseName);
    this.#c = {
      tokens: this.#db.collection<TokenDocument>(collectionName),
      blocklist: this.#db.collection<BlocklistDocument>(`${collectionName}_blocklist`),
      watermarks: this.#db.collection<WatermarkDocument>(`${collectionName}_watermarks`),
      rateLimits: this.#db.collection<RateLimitDocument>(`${collectionName}_rate_limits`),
    };
  }

  /**
   * Applies the migrations this collection lacks and answers the versions
   * this call recorded (none when up to date).
   *
   * Safe from several processes at once: each step only creates indexes,
   * which is idempotent, and is recorded by a conditional upsert on
   * `{ collection, version }` (unique index), so exactly one caller records
   * a version and reports it, whoever else ran the same step alongside.
   *
   * @example
   * const store = createMongoStore({ url, migrate: false });
   * const applied = await store.migrate(); // e.g. [1, 2]
   */
  async migrate(): Promise<number[]> {
    try {
      const applied = await this.#applyMigrations();
      this.#migrated ??= Promise.resolve();
      return applied;
    } catch (error) {
      throw new StoreError('migrate', { cause: error });
    }
  }

  /**
   * Stores a new record; rejects with a {@link StoreError} when its hash exists.
   *
   * @example
   * await store.insert(record);
   */
  async insert(record: RefreshTokenRecord): Promise<void> {
    await this.#run('insert', async (c) => {
      const insertedId = await insertUnique(c.tokens, toDocument(record));
      if (insertedId === null) {
        // No hash in the message: the caller's StoreError says only "insert".
        throw new StoreError('insert', { cause: new Error('a record with this token hash is already stored') });
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
    return this.#run('findByHash', async (c) => {
      const document = await c.tokens.findOne({ tokenHash });
      return document === null ? null : fromDocument(document);
    });
  }

  /**
   * Extends a record that is neither rotated nor revoked (its TTL field
   * moves along); false when there is none.
   *
   * @example
   * await store.touch(hash, newValidUntil, now);
   */
  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    return this.#run('touch', async (c) => {
      const result = await c.tokens.updateOne(
        { tokenHash, rotatedAt: null, revokedAt: null },
        { $set: { validUntil, expiresAt: validUntil, lastUsedAt } },
      );
      return result.matchedCount === 1;
    });
  }

  /**
   * The compare-and-set of rotation, successor first:
   *
   * 1. The successor is inserted (a conditional upsert). If its hash is
   *    taken by another family's record, nothing was written and this
   *    rejects with a {@link StoreError}. If it is taken by the SAME
   *    successor (same family, generation and user: successors are derived
   *    from the parent, so concurrent refreshes of one token insert the same
   *    one), that insert is shared.
   * 2. `findOneAndUpdate({ tokenHash: parent, rotatedAt: null, revokedAt: null })`
   *    marks the parent. A single-document update is atomic, so of N racing
   *    calls exactly one matches: it answers 'rotated'.
   * 3. A loser deletes the successor it inserted unless the parent now
   *    points at that same hash, and answers 'conflict'.
   *
   * Why not parent first, then the successor (and undo on failure)? Between
   * the two writes another request would read the parent as rotated and
   * find no successor: a grace-window replay would then count as reuse and
   * revoke the family. Why not a transaction? MongoDB has them only on
   * replica sets and sharded clusters; this works on every deployment.
   * The cost: a losing successor exists briefly, and a crash between steps 1
   * and 2 leaves an unreferenced successor whose plain token only the
   * server could derive; it expires by TTL.
   *
   * @example
   * if ((await store.rotate(parentHash, successor, now)) === 'conflict') treatAsReuse();
   */
  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    return this.#run('rotate', async (c) => {
      let insertedId: ObjectId | null = null;
      for (let attempt = 1; ; attempt += 1) {
        insertedId = await insertUnique(c.tokens, toDocument(successor));
        if (insertedId !== null) {
          break;
        }
        const holder = await c.tokens.findOne(
          { tokenHash: successor.tokenHash },
          { projection: { userId: 1, familyId: 1, generation: 1 } },
        );
        if (holder !== null) {
          if (!isSameSuccessor(holder, successor)) {
            throw new StoreError('rotate', { cause: new Error("the successor's token hash is already stored") });
          }
          break;
        }
        // The holder was a losing rotation's successor, deleted since our upsert: insert again.
        if (attempt === INSERT_ATTEMPTS) {
          throw new StoreError('rotate', { cause: new Error('the successor could not be inserted') });
        }
      }

      // The compare-and-set: the filter is the "neither rotated nor revoked" guard.
      const marked = await c.tokens.findOneAndUpdate(
        { tokenHash: parentHash, rotatedAt: null, revokedAt: null },
        { $set: { rotatedAt, lastUsedAt: rotatedAt, successorHash: successor.tokenHash } },
        { projection: { _id: 1 } },
      );
      if (marked !== null) {
        return 'rotated';
      }
      if (insertedId !== null) {
        // Rotation and revocation are final, so the parent's successorHash no longer changes:
        // if it is ours, the winner shares our insert; otherwise nothing refers to it.
        const parent = await c.tokens.findOne({ tokenHash: parentHash }, { projection: { successorHash: 1 } });
        if (parent?.successorHash !== successor.tokenHash) {
          await c.tokens.deleteOne({ _id: insertedId });
        }
      }
      return 'conflict';
    });
  }

  /**
   * Revokes one record unless it is revoked already; answers whether it changed.
   *
   * @example
   * await store.revoke(hash, now);
   */
  async revoke(tokenHash: string, revokedAt: Date): Promise<boolean> {
    return this.#run('revoke', async (c) => {
      const result = await c.tokens.updateOne({ tokenHash, revokedAt: null }, { $set: { revokedAt } });
      return result.modifiedCount === 1;
    });
  }

  /**
   * Revokes every not-yet-revoked record of a family (through the `familyId`
   * index); answers how many changed.
   *
   * @example
   * await store.revokeFamily(familyId, now);
   */
  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeFamily', async (c) => {
      return (await c.tokens.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt } })).modifiedCount;
    });
  }

  /**
   * Revokes every not-yet-revoked record of a user (through the `userId`
   * index); answers how many changed.
   *
   * @example
   * await store.revokeUser(userId, now);
   */
  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeUser', async (c) => {
      return (await c.tokens.updateMany({ userId, revokedAt: null }, { $set: { revokedAt } })).modifiedCount;
    });
  }

  /**
   * The user's families with a live current token, newest login first. One
   * aggregation over the user's records (`userId` index) groups each family:
   * its first creation, its latest use, and its live records, of which the
   * highest generation is the current token that supplies the rest.
   *
   * @example
   * const sessions = await store.listFamilies(userId, now);
   */
  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    return this.#run('listFamilies', async (c) => {
      // Fields are always written, null included, so `$eq: null` means "not set" here.
      const isLive = {
        $and: [{ $eq: ['$rotatedAt', null] }, { $eq: ['$revokedAt', null] }, { $gt: ['$validUntil', now] }],
      };
      const groups = await c.tokens
        .aggregate<FamilyGroup>([
          { $match: { userId } },
          {
            $group: {
              _id: '$familyId',
              createdAt: { $min: '$createdAt' },
              lastUsedAt: { $max: '$lastUsedAt' },
              candidates: {
                $push: {
                  $cond: [
                    isLive,
                    {
                      generation: '$generation',
                      userIdentifier: '$userIdentifier',
                      validUntil: '$validUntil',
                      familyDeadline: '$familyDeadline',
                      userAgent: '$userAgent',
                      ip: '$ip',
                      metadata: '$metadata',
                    },
                    null,
                  ],
                },
              },
            },
          },
        ])
        .toArray();
      const families: FamilySummary[] = [];
      for (const group of groups) {
        const current = group.candidates.reduce<LiveCandidate | null>(
          (best, candidate) => (candidate !== null && (best === null || candidate.generation > best.generation) ? candidate : best),
          null,
        );
        if (current === null) {
          continue;
        }
        families.push({
          familyId: group._id,
          userId,
          userIdentifier: current.userIdentifier,
          createdAt: group.createdAt,
          lastUsedAt: group.lastUsedAt ?? null,
          validUntil: current.validUntil,
          familyDeadline: current.familyDeadline ?? null,
          userAgent: current.userAgent ?? null,
          ip: current.ip ?? null,
          metadata: current.metadata ?? null,
        });
      }
      return families.sort(
        (a, b) =>
          b.createdAt.getTime() - a.createdAt.getTime() || (a.familyId < b.familyId ? -1 : a.familyId > b.familyId ? 1 : 0),
      );
    });
  }

  /**
   * Deletes up to `batchSize` records valid until before `before`: their ids
   * come from the `validUntil` index (sorted on it, oldest first), and the
   * delete repeats the condition, so a record extended in between stays.
   * Call again until it answers 0. MongoDB's TTL index removes expired
   * records too; this is for operators who want them gone now.
   *
   * @example
   * while ((await store.deleteExpired(now, 1000)) > 0) {}
   */
  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    return this.#run('deleteExpired', async (c) => {
      // Bounded: only a race with the TTL monitor or another purger makes a round come back empty.
      for (let round = 1; round <= DELETE_ROUNDS; round += 1) {
        const batch = await c.tokens
          .find({ validUntil: { $lt: before } }, { projection: { _id: 1 }, sort: { validUntil: 1 }, limit: batchSize })
          .toArray();
        if (batch.length === 0) {
          return 0;
        }
        const { deletedCount } = await c.tokens.deleteMany({
          _id: { $in: batch.map((document) => document._id) },
          validUntil: { $lt: before },
        });
        // 0 with a non-empty batch: the TTL monitor or another process took them first.
        // Answering 0 would tell the caller to stop while expired records may remain.
        if (deletedCount > 0) {
          return deletedCount;
        }
      }
      return 0;
    });
  }

  /**
   * Number of stored records, whatever their state.
   *
   * @example
   * const total = await store.count();
   */
  async count(): Promise<number> {
    return this.#run('count', (c) => c.tokens.countDocuments());
  }

  /**
   * Closes the client if the store created it; an app-owned client stays
   * open. Safe to call twice.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    if (!this.#ownsClient) {
      return;
    }
    try {
      await this.client.close();
    } catch (error) {
      throw new StoreError('close', { cause: error });
    }
  }

  /**
   * Blocks `jti` until `expiresAt` with one upsert; `$max` keeps the later
   * expiry. The TTL index removes the entry once it has expired.
   *
   * @example
   * await store.blockAccessToken(claims.jti, new Date(claims.exp * 1000));
   */
  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    await this.#run('blockAccessToken', (c) =>
      retryOnDuplicateKey(() => c.blocklist.updateOne({ jti }, { $max: { expiresAt } }, { upsert: true })),
    );
  }

  /**
   * Whether `jti` is blocked at `now` (compared here: the TTL monitor may lag).
   *
   * @example
   * if (await store.isAccessTokenBlocked(claims.jti, now)) refuse();
   */
  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    return this.#run('isAccessTokenBlocked', async (c) => {
      return (await c.blocklist.findOne({ jti, expiresAt: { $gt: now } }, { projection: { _id: 1 } })) !== null;
    });
  }

  /**
   * Moves the user's "revoked before" watermark forward to `at`: one upsert
   * with `$max`, so an earlier `at` changes nothing.
   *
   * @example
   * await store.setRevokedBefore(userId, now);
   */
  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    await this.#run('setRevokedBefore', (c) =>
      retryOnDuplicateKey(() => c.watermarks.updateOne({ userId }, { $max: { revokedBefore: at } }, { upsert: true })),
    );
  }

  /**
   * The user's watermark, or null.
   *
   * @example
   * const before = await store.getRevokedBefore(userId);
   */
  async getRevokedBefore(userId: string): Promise<Date | null> {
    return this.#run('getRevokedBefore', async (c) => {
      const watermark = await c.watermarks.findOne({ userId }, { projection: { revokedBefore: 1 } });
      return watermark?.revokedBefore ?? null;
    });
  }

  /**
   * One hit of `key` in its fixed window: a single `findOneAndUpdate` upsert
   * on `{ key, windowStart }` that increments and answers the count after.
   * Each window is its own document, so the roll-over is just the first
   * upsert of the next window; ended windows expire by TTL on `resetAt`.
   *
   * @example
   * const { count, resetAt } = await store.hitRateLimit(`login:${ip}`, 60, now);
   */
  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    return this.#run('hitRateLimit', async (c) => {
      const hit = await retryOnDuplicateKey(() =>
        c.rateLimits.findOneAndUpdate(
          { key, windowStart: new Date(window.startMs) },
          { $inc: { count: 1 }, $setOnInsert: { resetAt: window.resetAt } },
          { upsert: true, returnDocument: 'after', projection: { count: 1, resetAt: 1 } },
        ),
      );
      if (hit === null) {
        // An upsert with returnDocument 'after' always answers the document.
        throw new Error('the rate-limit upsert returned no document');
      }
      return { count: hit.count, resetAt: hit.resetAt };
    });
  }

  /**
   * Deletes expired blocklist entries and ended rate-limit windows now;
   * MongoDB's TTL monitor does the same on its own about once a minute, so
   * this often finds little. Watermarks have no TTL index (their useful life
   * depends on the access-token TTL, which the store does not know), so
   * those before `watermarksBefore` go only here.
   *
   * @example
   * await store.purgeExpiredState(now, new Date(now.getTime() - (tokenTtl + clockSkew) * 1000));
   */
  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    return this.#run('purgeExpiredState', async (c) => {
      const blocked = await c.blocklist.deleteMany({ expiresAt: { $lte: before } });
      const windows = await c.rateLimits.deleteMany({ resetAt: { $lte: before } });
      const watermarks =
        watermarksBefore === undefined ? 0 : (await c.watermarks.deleteMany({ revokedBefore: { $lt: watermarksBefore } })).deletedCount;
      return blocked.deletedCount + windows.deletedCount + watermarks;
    });
  }

  async #applyMigrations(): Promise<number[]> {
    const records = this.#db.collection<MigrationDocument>(MONGODB_MIGRATIONS_COLLECTION);
    await records.createIndex({ collection: 1, version: 1 }, { unique: true });
    const applied: number[] = [];
    for (const migration of mongoMigrations) {
      const key = { collection: this.collectionName, version: migration.version };
      if ((await records.findOne(key, { projection: { _id: 1 } })) !== null) {
        continue;
      }
      await migration.up(this.#db, this.collectionName);
      // The conditional upsert is the serialisation point: of concurrent runs exactly one inserts.
      const recorded = await retryOnDuplicateKey(() =>
        records.updateOne(key, { $setOnInsert: { name: migration.name, appliedAt: this.#clock() } }, { upsert: true }),
      );
      if (recorded.upsertedCount === 1) {
        applied.push(migration.version);
      }
    }
    return applied;
  }

  /** The lazy migration every method awaits; a failure is reported as such and retried next time. */
  #ready(): Promise<void> {
    if (!this.#autoMigrate) {
      return Promise.resolve();
    }
    this.#migrated ??= this.#applyMigrations().then(
      () => undefined,
      (error: unknown) => {
        this.#migrated = undefined;
        throw new StoreError('migrate', { cause: error });
      },
    );
    return this.#migrated;
  }

  /** Runs driver work after the lazy migration, turning any failure into a StoreError that keeps the driver's message in `cause` only. */
  async #run<T>(operation: string, work: (collections: Collections) => Promise<T>): Promise<T> {
    try {
      await this.#ready();
      return await work(this.#c);
    } catch (error) {
      throw error instanceof StoreError ? error : new StoreError(operation, { cause: error });
    }
  }
}

/**
 * A {@link MongoRefreshTokenStore} on a client it creates from `url` (and
 * closes) or on a `MongoClient` the app owns. Migrates lazily unless
 * `migrate: false`.
 *
 * @example
 * const store = createMongoStore({ url: 'mongodb://127.0.0.1:27017/app' });
 * // or, sharing the app's client:
 * const shared = createMongoStore({ client: appClient, databaseName: 'app', collectionName: 'jwt_refresh_tokens' });
 */
export function createMongoStore(options: MongoStoreOptions): MongoRefreshTokenStore {
  return new MongoRefreshTokenStore(options);
}

/**
 * Inserts `document` unless a document with its `tokenHash` exists, as ONE
 * conditional upsert, and answers the new `_id`, or null when the hash was
 * taken. Atomic on a single server whether or not it enforces the unique
 * index; on a real mongod the unique index also settles two concurrent
 * upserts (the server retries the loser's duplicate-key error as a match).
 * A duplicate-key error that still surfaces means "taken" as well.
 */
async function insertUnique(tokens: Collection<TokenDocument>, document: TokenDocument): Promise<ObjectId | null> {
  try {
    const result = await tokens.updateOne({ tokenHash: document.tokenHash }, { $setOnInsert: document }, { upsert: true });
    return result.upsertedCount === 1 ? result.upsertedId : null;
  } catch (error) {
    if (isDuplicateKeyError(error)) {
      return null;
    }
    throw error;
  }
}

/**
 * Runs an upsert again once if it failed on a duplicate key: it raced
 * another upsert of the same key, which has inserted the document, so the
 * second run matches it. MongoDB 4.2+ does this itself in most cases.
 */
async function retryOnDuplicateKey<T>(upsert: () => Promise<T>): Promise<T> {
  try {
    return await upsert();
  } catch (error) {
    if (isDuplicateKeyError(error)) {
      return upsert();
    }
    throw error;
  }
}

function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 11000;
}

/** Whether the record holding a successor's hash is that successor (inserted by a concurrent rotation of the same parent). */
function isSameSuccessor(
  holder: Pick<TokenDocument, 'userId' | 'familyId' | 'generation'>,
  successor: RefreshTokenRecord,
): boolean {
  return (
    holder.userId === successor.userId && holder.familyId === successor.familyId && holder.generation === successor.generation
  );
}

/**
 * The database path of a MongoDB connection string (`mongodb://h1,h2/db?x`),
 * or undefined when it names none. Read here because an unnamed database
 * must default to `jwt_refresh`, where the driver would say `test`.
 */
function databaseNameFromUrl(url: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?#]*\/([^?#]*)/i.exec(url);
  const name = match?.[1];
  return name === undefined || name === '' ? undefined : decodeURIComponent(name);
}

function toDocument(record: RefreshTokenRecord): TokenDocument {
  // New Date objects: the caller may mutate its record while the driver serialises.
  return { ...copyRecord(record), expiresAt: new Date(record.validUntil.getTime()) };
}

function fromDocument(document: TokenDocument): RefreshTokenRecord {
  return {
    id: document.id,
    tokenHash: document.tokenHash,
    userId: document.userId,
    userIdentifier: document.userIdentifier,
    familyId: document.familyId,
    generation: document.generation,
    validUntil: document.validUntil,
    familyDeadline: document.familyDeadline ?? null,
    createdAt: document.createdAt,
    lastUsedAt: document.lastUsedAt ?? null,
    rotatedAt: document.rotatedAt ?? null,
    successorHash: document.successorHash ?? null,
    revokedAt: document.revokedAt ?? null,
    userAgent: document.userAgent ?? null,
    ip: document.ip ?? null,
    metadata: document.metadata ?? null,
  };
}



/**
 * The MongoDB store, on the official `mongodb` driver (v6): one document per token, instants as BSON Dates (millisecond
 * precision, like JS Dates). Uniqueness of `tokenHash` does not rest on the unique index alone: see `insertUnique`.
 */
import { MongoClient, type Collection, type Db, type ObjectId } from 'mongodb';
import { ConfigError, StoreError } from '../../errors.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { attempt, errorProperty, retry, type RetryPolicy } from '../kit/attempt.js';
import { LazyMigration } from '../kit/lazy-migration.js';
import { runMigrations } from '../kit/migration-runner.js';
import { deadlineOf, operationTimeout } from '../kit/operation-timeout.js';
import { exactlyOne, identifier, type SchemaStoreOptions, type ServerStoreOptions } from '../kit/options.js';
import { recordFrom } from '../kit/record-codec.js';
import { assertBatchSize, byNewestLogin, copyRecord, familySummary, rateLimitWindow } from '../kit/records.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from '../store.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { auditMongo } from './mongodb-audit.js';
import { MONGODB_MIGRATIONS_COLLECTION, mongoMigrations, type MongoMigration } from './mongodb-migrations.js';

/** Options of {@link createMongoStore}. Give exactly one of `url` and `client`. */
export interface MongoStoreOptions extends SchemaStoreOptions, ServerStoreOptions {
  /**
   * Connection string (`mongodb://` or `mongodb+srv://`). The store creates
   * its own `MongoClient`, which connects on first use, and `close()` closes it.
   */
  url?: string;
  /** A `MongoClient` the app owns: the store uses its pool and `close()` leaves it open. */
  client?: MongoClient;
  /**
   * Database of the collections. Default: the database named in `url`, else `jwt_refresh`; with `client`, the client's
   * default database (the driver reports `test` when the client's URL names none, so pass it then).
   */
  databaseName?: string;
  /** Token collection, an identifier (`/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`). Default `refresh_tokens`. */
  collectionName?: string;
}

/** A token document: the record's fields, plus `expiresAt` (always `validUntil`) for the TTL index, so MongoDB purges expired records itself. */
interface TokenDocument extends RefreshTokenRecord {
  expiresAt: Date;
}

interface MigrationDocument {
  collection: string;
  version: number;
  name: string;
  appliedAt: Date;
}

/** The current token of a family as `listFamilies` groups it, or null for a record that is not live. */
const CANDIDATE_FIELDS = ['generation', 'userIdentifier', 'validUntil', 'familyDeadline', 'userAgent', 'ip', 'metadata'] as const;
type LiveCandidate = Pick<TokenDocument, (typeof CANDIDATE_FIELDS)[number]>;

interface FamilyGroup {
  _id: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  candidates: Array<LiveCandidate | null>;
}

interface Collections {
  tokens: Collection<TokenDocument>;
  blocklist: Collection<{ jti: string; expiresAt: Date }>;
  watermarks: Collection<{ userId: string; revokedBefore: Date }>;
  rateLimits: Collection<{ key: string; windowStart: Date; resetAt: Date; count: number }>;
}

// MongoDB refuses these characters in database names (on any platform) and names over 63 bytes.
const DATABASE_NAME = /^[^/\\. "$*<>:|?\0]{1,63}$/;
// How often an upsert is retried when the hash it lost to was deleted in between (see insertUnique).
const INSERT_ATTEMPTS = 3;
// How many find-then-delete rounds deleteExpired tries when others delete its batch first.
const DELETE_ROUNDS = 5;
/**
 * An upsert that failed on a duplicate key raced another upsert of the same key, which has
 * inserted the document, so running it once more matches it (MongoDB 4.2+ mostly does so itself).
 */
const ON_DUPLICATE_KEY: RetryPolicy = { attempts: 2, isRetryable: isDuplicateKeyError, pauseMs: () => 0 };
/** The store's name in errors and log lines. */
const STORE = 'mongodb';

/**
 * A {@link RefreshTokenStore} on MongoDB. Build it with {@link createMongoStore}.
 *
 * @example
 * const store = new MongoRefreshTokenStore({ url: 'mongodb://127.0.0.1:27017/app' });
 * const record = await store.findByHash(hash);
 */
export class MongoRefreshTokenStore implements RefreshTokenStore {
  readonly client: MongoClient;
  readonly databaseName: string;
  readonly collectionName: string;
  readonly #ownsClient: boolean;
  readonly #clock: Clock;
  readonly #db: Db;
  readonly #collections: Collections;
  readonly #migration: LazyMigration;
  readonly #timeoutMs: number;

  constructor(options: MongoStoreOptions) {
    this.collectionName = identifier('stores.mongodb.collectionName', options.collectionName ?? 'refresh_tokens', {
      kind: 'an identifier',
    });
    exactlyOne('mongodb', options, 'url', 'client');
    this.#timeoutMs = operationTimeout(STORE, options.operationTimeoutMs);
    this.#ownsClient = options.client === undefined;
    this.client = options.client ?? openClient(options.url ?? '', this.#timeoutMs);
    const urlDatabase = options.client === undefined ? databaseNameFromUrl(options.url ?? '') : options.client.options.dbName;
    this.databaseName = options.databaseName ?? urlDatabase ?? 'jwt_refresh';
    if (!DATABASE_NAME.test(this.databaseName)) {
      throw new ConfigError('stores.mongodb.databaseName: expected 1 to 63 characters, none of / \\ . space " $ * < > : | ?');
    }
    this.#clock = options.clock ?? systemClock;
    this.#db = this.client.db(this.databaseName);
    this.#collections = {
      tokens: this.#db.collection(this.collectionName),
      blocklist: this.#db.collection(`${this.collectionName}_blocklist`),
      watermarks: this.#db.collection(`${this.collectionName}_watermarks`),
      rateLimits: this.#db.collection(`${this.collectionName}_rate_limits`),
    };
    this.#migration = new LazyMigration(
      () => attempt('migrate', () => this.#applyMigrations(), { store: STORE }),
      options.migrate !== false,
    );
  }

  async migrate(): Promise<number[]> {
    const applied = await attempt('migrate', () => this.#applyMigrations(), { store: STORE });
    this.#migration.markDone();
    return applied;
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    await this.#run('insert', async (c) => {
      if ((await insertUnique(c.tokens, toDocument(record))) === null) {
        // No hash in the message: the caller's StoreError says only "insert".
        throw new StoreError('insert', { cause: new Error('a record with this token hash is already stored'), store: STORE });
      }
    });
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const document = await this.#run('findByHash', (c) => c.tokens.findOne({ tokenHash }));
    return document === null ? null : recordFrom(document);
  }

  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    // The TTL field moves along with validUntil.
    const result = await this.#run('touch', (c) =>
      c.tokens.updateOne({ tokenHash, rotatedAt: null, revokedAt: null }, { $set: { validUntil, expiresAt: validUntil, lastUsedAt } }),
    );
    return result.matchedCount === 1;
  }

  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    // Successor first, then the parent, without a transaction (MongoDB has them
    // only on replica sets and sharded clusters):
    //
    // 1. The successor is inserted (a conditional upsert). If its hash is taken by another
    //    family's record, nothing was written and this rejects. If it is taken by the SAME
    //    successor (same family, generation and user: concurrent refreshes of one token derive
    //    the same one), that insert is shared.
    // 2. `findOneAndUpdate({ tokenHash: parent, rotatedAt: null, revokedAt: null })` marks the
    //    parent. A single-document update is atomic, so of N racing calls exactly one matches.
    // 3. A loser deletes the successor it inserted unless the parent now points at that same
    //    hash, and answers 'conflict'.
    //
    // Parent first would let another request, between the two writes, read the parent rotated
    // and find no successor: a grace-window replay would count as reuse and revoke the family.
    // The cost: a losing successor exists briefly, and a crash between steps 1 and 2 leaves an
    // unreferenced successor whose plain token only the server could derive; it expires by TTL.
    return this.#run('rotate', async (c) => {
      let insertedId: ObjectId | null = null;
      for (let attempt = 1; ; attempt += 1) {
        insertedId = await insertUnique(c.tokens, toDocument(successor));
        if (insertedId !== null) break;
        const holder = await c.tokens.findOne(
          { tokenHash: successor.tokenHash },
          { projection: { userId: 1, familyId: 1, generation: 1 } },
        );
        if (holder !== null) {
          if (!isSameSuccessor(holder, successor)) {
            throw new StoreError('rotate', { cause: new Error("the successor's token hash is already stored"), store: STORE });
          }
          break;
        }
        // The holder was a losing rotation's successor, deleted since our upsert: insert again.
        if (attempt === INSERT_ATTEMPTS)
          throw new StoreError('rotate', { cause: new Error('the successor could not be inserted'), store: STORE });
      }

      // The compare-and-set: the filter is the "neither rotated nor revoked" guard.
      const marked = await c.tokens.findOneAndUpdate(
        { tokenHash: parentHash, rotatedAt: null, revokedAt: null },
        { $set: { rotatedAt, lastUsedAt: rotatedAt, successorHash: successor.tokenHash } },
        { projection: { _id: 1 } },
      );
      if (marked !== null) return 'rotated';
      if (insertedId !== null) {
        // Rotation and revocation are final, so the parent's successorHash no longer changes:
        // if it is ours, the winner shares our insert; otherwise nothing refers to it.
        const parent = await c.tokens.findOne({ tokenHash: parentHash }, { projection: { successorHash: 1 } });
        if (parent?.successorHash !== successor.tokenHash) await c.tokens.deleteOne({ _id: insertedId });
      }
      return 'conflict';
    });
  }

  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    // One updateMany, not re-run as PostgreSQL's is: it reads each document as it is when reached,
    // not a snapshot, and a rotation writes its successor before it marks the parent.
    const result = await this.#run('revokeFamily', (c) => c.tokens.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt } }));
    return result.modifiedCount;
  }

  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    const result = await this.#run('revokeUser', (c) => c.tokens.updateMany({ userId, revokedAt: null }, { $set: { revokedAt } }));
    return result.modifiedCount;
  }

  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    // One aggregation over the user's records (userId index) groups each family: its first
    // creation, its latest use, and its live records, the highest generation of which is current.
    // Fields are always written, null included, so `$eq: null` means "not set" here.
    const isLive = { $and: [{ $eq: ['$rotatedAt', null] }, { $eq: ['$revokedAt', null] }, { $gt: ['$validUntil', now] }] };
    const candidate = Object.fromEntries(CANDIDATE_FIELDS.map((field) => [field, `$${field}`]));
    const groups = await this.#run('listFamilies', (c) =>
      c.tokens
        .aggregate<FamilyGroup>([
          { $match: { userId } },
          {
            $group: {
              _id: '$familyId',
              createdAt: { $min: '$createdAt' },
              lastUsedAt: { $max: '$lastUsedAt' },
              candidates: { $push: { $cond: [isLive, candidate, null] } },
            },
          },
        ])
        .toArray(),
    );
    const families: FamilySummary[] = [];
    for (const { _id: familyId, createdAt, lastUsedAt, candidates } of groups) {
      const current = candidates.reduce<LiveCandidate | null>(
        (best, next) => (next !== null && (best === null || next.generation > best.generation) ? next : best),
        null,
      );
      if (current !== null) families.push(familySummary({ familyId, userId, createdAt, lastUsedAt }, current));
    }
    return families.sort(byNewestLogin);
  }

  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    // One upsert; `$max` keeps the later expiry, and the TTL index removes the entry once expired.
    await this.#run('blockAccessToken', (c) =>
      retry(() => c.blocklist.updateOne({ jti }, { $max: { expiresAt } }, { upsert: true }), ON_DUPLICATE_KEY),
    );
  }

  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    // Compared here: the TTL monitor may lag.
    const entry = await this.#run('isAccessTokenBlocked', (c) =>
      c.blocklist.findOne({ jti, expiresAt: { $gt: now } }, { projection: { _id: 1 } }),
    );
    return entry !== null;
  }

  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    await this.#run('setRevokedBefore', (c) =>
      retry(() => c.watermarks.updateOne({ userId }, { $max: { revokedBefore: at } }, { upsert: true }), ON_DUPLICATE_KEY),
    );
  }

  async getRevokedBefore(userId: string): Promise<Date | null> {
    const projection = { revokedBefore: 1 };
    const watermark = await this.#run('getRevokedBefore', (c) => c.watermarks.findOne({ userId }, { projection }));
    return watermark?.revokedBefore ?? null;
  }

  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    // One findOneAndUpdate upsert per key AND window, so the roll-over is just the first upsert of
    // the next window; ended windows expire by TTL on resetAt.
    const window = rateLimitWindow(now, windowSeconds);
    return this.#run('hitRateLimit', async (c) => {
      const hit = await retry(
        () =>
          c.rateLimits.findOneAndUpdate(
            { key, windowStart: new Date(window.startMs) },
            { $inc: { count: 1 }, $setOnInsert: { resetAt: window.resetAt } },
            { upsert: true, returnDocument: 'after', projection: { count: 1, resetAt: 1 } },
          ),
        ON_DUPLICATE_KEY,
      );
      if (hit === null) {
        // An upsert with returnDocument 'after' always answers the document.
        throw new Error('the rate-limit upsert returned no document');
      }
      return { count: hit.count, resetAt: hit.resetAt };
    });
  }

  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    // Ids from the validUntil index, oldest first; the delete repeats the condition, so a record
    // extended in between stays. The TTL index removes expired records too, a minute or so late.
    return this.#run('deleteExpired', async (c) => {
      // Bounded: only a race with the TTL monitor or another purger makes a round come back empty.
      for (let round = 1; round <= DELETE_ROUNDS; round += 1) {
        const batch = await c.tokens
          .find({ validUntil: { $lt: before } }, { projection: { _id: 1 }, sort: { validUntil: 1 }, limit: batchSize })
          .toArray();
        if (batch.length === 0) return 0;
        const { deletedCount } = await c.tokens.deleteMany({
          _id: { $in: batch.map((document) => document._id) },
          validUntil: { $lt: before },
        });
        // 0 with a non-empty batch: the TTL monitor or another process took them first.
        // Answering 0 would tell the caller to stop while expired records may remain.
        if (deletedCount > 0) return deletedCount;
      }
      return 0;
    });
  }

  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    // The TTL monitor removes expired entries and windows on its own; watermarks have no TTL index
    // (their useful life depends on the access-token TTL), so those go only here.
    return this.#run('purgeExpiredState', async (c) => {
      const blocked = await c.blocklist.deleteMany({ expiresAt: { $lte: before } });
      const windows = await c.rateLimits.deleteMany({ resetAt: { $lte: before } });
      const watermarks =
        watermarksBefore === undefined ? 0 : (await c.watermarks.deleteMany({ revokedBefore: { $lt: watermarksBefore } })).deletedCount;
      return blocked.deletedCount + windows.deletedCount + watermarks;
    });
  }

  async audit(now: Date, options?: StoreAuditOptions): Promise<StoreAudit> {
    return auditMongo((work) => this.#run('audit', work), this.#collections.tokens, now, options);
  }

  async count(): Promise<number> {
    return this.#run('count', (c) => c.tokens.countDocuments());
  }

  async ping(): Promise<void> {
    // Not behind the lazy migration: whether the server answers, not whether the indexes are there.
    await attempt('ping', () => this.#db.command({ ping: 1 }), { store: STORE, timeoutMs: this.#timeoutMs });
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await attempt('close', () => this.client.close(), { store: STORE });
  }

  async #applyMigrations(): Promise<number[]> {
    const records = this.#db.collection<MigrationDocument>(MONGODB_MIGRATIONS_COLLECTION);
    await records.createIndex({ collection: 1, version: 1 }, { unique: true });
    const key = (migration: MongoMigration) => ({ collection: this.collectionName, version: migration.version });
    return runMigrations<MongoMigration, Db>(mongoMigrations, {
      // No lock: steps only create indexes (idempotent), and the conditional upsert of `record` on
      // `{ collection, version }` (unique index) lets exactly one concurrent run record and report a version.
      guard: (work) => work(this.#db),
      isApplied: async (_db, migration) => (await records.findOne(key(migration), { projection: { _id: 1 } })) !== null,
      apply: (db, migration) => migration.up(db, this.collectionName),
      record: async (_db, migration) => {
        const entry = { $setOnInsert: { name: migration.name, appliedAt: this.#clock() } };
        const recorded = await retry(() => records.updateOne(key(migration), entry, { upsert: true }), ON_DUPLICATE_KEY);
        return recorded.upsertedCount === 1;
      },
    });
  }

  async #run<T>(operation: string, work: (collections: Collections) => Promise<T>): Promise<T> {
    // One deadline over the wait for the lazy migration and the operation.
    return attempt(
      operation,
      async () => {
        await this.#migration.ready();
        return work(this.#collections);
      },
      { store: STORE, timeoutMs: deadlineOf(operation, this.#timeoutMs) },
    );
  }
}

/**
 * A {@link MongoRefreshTokenStore}.
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
 * The client the store opens: choosing a server, connecting and waiting on a socket each give up after `timeoutMs`
 * (the driver's defaults are 30 s, 30 s and never) unless the URL sets them, so an unreachable MongoDB fails an
 * operation instead of holding it.
 */
function openClient(url: string, timeoutMs: number): MongoClient {
  try {
    // Options given in the URL win: the driver would otherwise let these override them.
    const given = new Set([...url.matchAll(/[?&]([^=&]+)=/g)].map((match) => match[1]?.toLowerCase()));
    const timeouts = Object.fromEntries(
      ['serverSelectionTimeoutMS', 'connectTimeoutMS', 'socketTimeoutMS']
        .filter((option) => !given.has(option.toLowerCase()))
        .map((option) => [option, timeoutMs]),
    );
    return new MongoClient(url, timeouts);
  } catch (error) {
    // The driver's message may quote the URL, credentials included: cause only.
    throw new ConfigError('stores.mongodb.url: expected a mongodb:// or mongodb+srv:// connection string', { cause: error });
  }
}

/**
 * Inserts `document` unless a document with its `tokenHash` exists, as ONE conditional upsert (`$setOnInsert` under a
 * filter on the hash), and answers the new `_id`, or null when the hash was taken. A single server applies it
 * atomically, so a duplicate is refused even where unique secondary indexes are not enforced (the CongoServer of the
 * tests). On a real mongod the unique index settles two racing upserts: the server retries the loser's duplicate-key
 * error as a match (4.2+, SERVER-14322); one that still surfaces means "taken" as well.
 */
async function insertUnique(tokens: Collection<TokenDocument>, document: TokenDocument): Promise<ObjectId | null> {
  try {
    const result = await tokens.updateOne({ tokenHash: document.tokenHash }, { $setOnInsert: document }, { upsert: true });
    return result.upsertedCount === 1 ? result.upsertedId : null;
  } catch (error) {
    if (isDuplicateKeyError(error)) return null;
    throw error;
  }
}

function isDuplicateKeyError(error: unknown): boolean {
  return errorProperty(error, 'code') === 11000;
}

/** Whether the record holding a successor's hash is that successor (inserted by a concurrent rotation of the same parent). */
function isSameSuccessor(holder: Pick<TokenDocument, 'userId' | 'familyId' | 'generation'>, successor: RefreshTokenRecord): boolean {
  return holder.userId === successor.userId && holder.familyId === successor.familyId && holder.generation === successor.generation;
}

/**
 * The database path of a MongoDB connection string (`mongodb://h1,h2/db?x`), or undefined when it names none. Read here
 * because an unnamed database must default to `jwt_refresh`, where the driver would say `test`.
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

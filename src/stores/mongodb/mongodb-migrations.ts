/**
 * The schema of the MongoDB store: the indexes of its collections, as an
 * ordered list of migrations (see `Migration` in kit/migration-runner.ts).
 *
 * TTL indexes use `expireAfterSeconds: 0`: a document goes once the instant
 * in its field has passed (MongoDB's TTL monitor runs about once a minute,
 * so reads still compare instants themselves).
 */
import type { Db } from 'mongodb';
import { MIGRATIONS_TABLE } from '../kit/migration-runner.js';

/** One schema step of the MongoDB store (the kit's `Migration`, spelled out for the public API). */
export interface MongoMigration {
  /** Strictly increasing from 1; recorded in `jwt_refresh_migrations` once applied. */
  readonly version: number;
  /** Short description, recorded next to the version for operators. */
  readonly name: string;
  /**
   * Creates what the step needs for the token collection `collectionName`. Must be idempotent
   * (`createIndexes` with the same specs is): two processes may both run a step before one records it.
   */
  readonly up: (db: Db, collectionName: string) => Promise<void>;
}

/** Name of the collection that records applied migrations, shared by every token collection of a database. */
export const MONGODB_MIGRATIONS_COLLECTION = MIGRATIONS_TABLE;

/**
 * Every migration of the MongoDB store, oldest first.
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

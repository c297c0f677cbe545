import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { createSqliteStore, type SqliteRefreshTokenStore, type SqliteStoreOptions } from '../../src/stores/sqlite.js';
import type { RefreshTokenRecord } from '../../src/stores/store.js';
import { at, HOUR, labelHash as hashOf, recordMaker } from '../support/token-records.js';

const record = recordMaker({ hash: hashOf, userIdentifier: 'alice' });

function successorOf(parent: RefreshTokenRecord, label: string): RefreshTokenRecord {
  return record(label, { familyId: parent.familyId, generation: parent.generation + 1, createdAt: at(HOUR) });
}

describe('SQLite store: group commit and background checkpoints', () => {
  let dir: string;
  let filename: string;
  const opened: Array<{ close(): unknown }> = [];

  function open(options: Omit<SqliteStoreOptions, 'filename' | 'database'> = {}): SqliteRefreshTokenStore {
    const store = createSqliteStore({ filename, ...options });
    opened.push(store);
    return store;
  }

  /** A second connection to the file: what another process sees as committed. */
  function observer(): Database.Database {
    const database = new Database(filename, { readonly: true });
    opened.push(database);
    return database;
  }

  const committed = (db: Database.Database, label: string) =>
    db.prepare('SELECT 1 FROM refresh_tokens WHERE token_hash = ?').pluck().get(hashOf(label)) === 1;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-sqlite-gc-'));
    filename = join(dir, 'tokens.sqlite');
  });

  afterEach(async () => {
    for (const closable of opened.splice(0)) await closable.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('group commit (on by default)', () => {
    it('commits a write at once when the store is idle: another connection sees it before the call returns to the event loop', async () => {
      const store = open();
      const db = observer();

      const pending = store.insert(record('idle'));

      expect(committed(db, 'idle')).toBe(true);
      await pending;
    });

    it('commits the later writes of a turn together, and settles each only once its write is committed', async () => {
      const store = open();
      const db = observer();

      const first = store.insert(record('first'));
      const later = ['a', 'b', 'c'].map((label) => store.insert(record(label)));
      expect(committed(db, 'first')).toBe(true);
      expect(['a', 'b', 'c'].map((label) => committed(db, label))).toEqual([false, false, false]);

      const seenWhenSettled = await Promise.all(later.map((write, i) => write.then(() => committed(db, ['a', 'b', 'c'][i] as string))));
      await first;
      expect(seenWhenSettled).toEqual([true, true, true]);
    });

    it('lets exactly one of 10 rotations of one token in one batch win; the others answer conflict and write nothing', async () => {
      const store = open();
      const parent = record('parent');
      await store.insert(parent);

      // The first write of the turn commits alone, so all 10 rotations queue into one batch.
      const opener = store.insert(record('opener'));
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.rotate(parent.tokenHash, successorOf(parent, `next-${i}`), at(HOUR))),
      );
      await opener;

      expect(outcomes.filter((outcome) => outcome === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'conflict')).toHaveLength(9);
      const winner = outcomes.indexOf('rotated');
      expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(hashOf(`next-${winner}`));
      expect(await store.count()).toBe(3); // parent, opener, the one successor
    });

    it('rolls back a failing write alone: the others of its batch commit and resolve', async () => {
      const store = open();
      const parent = record('parent');
      await store.insert(parent);
      await store.insert(record('taken'));

      const opener = store.insert(record('opener'));
      const results = await Promise.allSettled([
        store.insert(record('before')),
        // Same token hash as an existing row: the UNIQUE index refuses it.
        store.insert(record('duplicate', { tokenHash: hashOf('taken') })),
        store.rotate(parent.tokenHash, successorOf(parent, 'next'), at(HOUR)),
        store.touch(hashOf('taken'), at(2 * HOUR), at(HOUR)),
        store.insert(record('after')),
      ]);
      await opener;

      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      const failure = (results[1] as PromiseRejectedResult).reason;
      expect(failure).toBeInstanceOf(StoreError);
      expect((results[2] as PromiseFulfilledResult<unknown>).value).toBe('rotated');
      expect((results[3] as PromiseFulfilledResult<unknown>).value).toBe(true);
      expect(await store.findByHash(hashOf('before'))).not.toBeNull();
      expect(await store.findByHash(hashOf('after'))).not.toBeNull();
      expect((await store.findByHash(hashOf('next')))?.generation).toBe(1);
      expect((await store.findByHash(hashOf('taken')))?.validUntil).toEqual(at(2 * HOUR));
      expect(await store.findByHash(hashOf('duplicate'))).toBeNull();
      expect(await store.count()).toBe(6);
    });

    it('commits at once when a batch reaches maxBatch', async () => {
      const store = open({ groupCommit: { maxBatch: 2 } });
      const db = observer();

      const writes = ['w0', 'w1', 'w2', 'w3'].map((label) => store.insert(record(label)));

      // w0 alone, then w1 + w2 as a full batch; w3 waits for the end of the turn.
      expect(['w0', 'w1', 'w2', 'w3'].map((label) => committed(db, label))).toEqual([true, true, true, false]);
      await Promise.all(writes);
      expect(committed(db, 'w3')).toBe(true);
    });

    it('keeps call order with writes it does not batch: a family revoked after a queued rotation leaves no live successor', async () => {
      const store = open();
      const parent = record('parent');
      await store.insert(parent);

      const opener = store.insert(record('opener', { familyId: 'other' }));
      const rotation = store.rotate(parent.tokenHash, successorOf(parent, 'next'), at(HOUR));
      const revoked = store.revokeFamily(parent.familyId, at(2 * HOUR));

      expect(await rotation).toBe('rotated');
      expect(await revoked).toBe(2);
      expect((await store.findByHash(hashOf('next')))?.revokedAt).toEqual(at(2 * HOUR));
      await opener;
    });

    it('commits what is queued when the store closes', async () => {
      const store = open();
      const opener = store.insert(record('opener'));
      const queued = store.insert(record('queued'));
      await store.close();
      await Promise.all([opener, queued]);

      const db = observer();
      expect(committed(db, 'queued')).toBe(true);
    });

    it('with groupCommit: false commits every write in its own transaction', async () => {
      const store = open({ groupCommit: false });
      const db = observer();

      const writes = ['a', 'b'].map((label) => store.insert(record(label)));

      expect(['a', 'b'].map((label) => committed(db, label))).toEqual([true, true]);
      await Promise.all(writes);
    });

    it('refuses a maxBatch that is not a positive integer', () => {
      expect(() => createSqliteStore({ filename, groupCommit: { maxBatch: 0 } })).toThrow(/groupCommit\.maxBatch/);
    });
  });

  describe('checkpoints', () => {
    it('checkpoints from a worker thread; the serving connection only backstops the WAL bound', async () => {
      const store = open({ checkpoint: { intervalMs: 10 } });
      // 64 MiB of 4 KiB pages: far above SQLite's 1000, so requests never checkpoint while the worker keeps up.
      expect(store.database.pragma('wal_autocheckpoint', { simple: true })).toBe(16384);
      const before = statSync(filename).size;

      for (let i = 0; i < 50; i++) await store.insert(record(`row-${i}`));

      // The database file grows only when a checkpoint copies the WAL into it; this connection never does.
      expect(await eventually(() => statSync(filename).size > before)).toBe(true);
      expect(statSync(`${filename}-wal`).size).toBeGreaterThan(0);
    });

    it('keeps the WAL file within its bound under steady writes', async () => {
      const limit = 256 * 1024;
      const store = open({ checkpoint: { intervalMs: 5, walLimitBytes: limit } });
      let largest = 0;
      for (let i = 0; i < 2000; i++) {
        await store.insert(record(`row-${i}`, { familyId: `family-${i}`, userId: `user-${i}` }));
        if (i % 100 === 0) {
          largest = Math.max(largest, statSync(`${filename}-wal`).size);
          await sleep(1);
        }
      }
      expect(await eventually(() => statSync(`${filename}-wal`).size <= limit)).toBe(true);
      // Unbounded, these 2000 commits leave a 58 MB WAL. A tight loop of commits leaves the worker few gaps;
      // the serving connection's backstop holds the bound, give or take what is written while a checkpoint
      // (slow fsyncs on a busy disk) holds the checkpoint lock: measured up to 6 MB on a loaded 2-core machine.
      expect(largest).toBeLessThan(16 * 1024 * 1024);
    });

    it('stops the worker on close(); the last connection then removes the WAL', async () => {
      const store = open({ checkpoint: { intervalMs: 10 } });
      await store.insert(record('one'));
      await store.close();

      expect(existsSync(`${filename}-wal`)).toBe(false);
    });

    it('with checkpoint: false leaves SQLite auto-checkpoint on the serving connection', () => {
      const store = open({ checkpoint: false });
      expect(store.database.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    });
  });
});

/** Polls `condition` every 10 ms for up to 3 s. */
async function eventually(condition: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 3000; waited += 10) {
    if (condition()) return true;
    await sleep(10);
  }
  return condition();
}

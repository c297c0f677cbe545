import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, StoreError } from '../../src/errors.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';
import { sqliteMigrations } from '../../src/stores/sqlite-migrations.js';
import type { RefreshTokenRecord, RotateOutcome } from '../../src/stores/store.js';
import { runStoreConformance } from '../conformance/store.suite.js';
import { at, HOUR, labelHash as hashOf, recordMaker, T0 } from '../support/token-records.js';

runStoreConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-sqlite-'));
  // A nested path, so every case also proves that missing parent directories are created.
  const store = createSqliteStore({ filename: join(dir, 'nested', 'dir', 'tokens.sqlite') });
  return {
    store,
    rawRows: async () => store.database.prepare('SELECT * FROM refresh_tokens').all() as Array<Record<string, unknown>>,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** This file's records: a one-step label hash and the bare `alice` identifier. */
const record = recordMaker({ hash: hashOf, userIdentifier: 'alice' });

function successorOf(parent: RefreshTokenRecord, label: string): RefreshTokenRecord {
  return record(label, { familyId: parent.familyId, generation: parent.generation + 1, createdAt: at(HOUR) });
}

describe('SQLite store', () => {
  let dir: string;
  let filename: string;
  const opened: Array<{ close(): unknown }> = [];

  /** Tracks what a case opens so a failing assertion cannot leak a connection into the next case. */
  function track<T extends { close(): unknown }>(closable: T): T {
    opened.push(closable);
    return closable;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-sqlite-only-'));
    filename = join(dir, 'tokens.sqlite');
  });

  afterEach(async () => {
    for (const closable of opened.splice(0)) {
      await closable.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function migrationRows(database: Database.Database): Array<{ table_name: string; version: number; name: string }> {
    return database
      .prepare('SELECT table_name, version, name FROM jwt_refresh_migrations ORDER BY table_name, version')
      .all() as Array<{ table_name: string; version: number; name: string }>;
  }

  it('creates its database file readable by the owner only, WAL and shared-memory files too', async () => {
    const store = track(createSqliteStore({ filename }));
    await store.insert(record('perm'));
    for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) {
      expect((statSync(file).mode & 0o777).toString(8), file).toBe('600');
    }
  });

  describe('migrations', () => {
    it('treat table names as SQLite does, case-insensitively: the same table under another case is up to date', async () => {
      const lower = track(createSqliteStore({ filename, tableName: 'audit' }));
      await lower.insert(record('case'));
      const upper = track(createSqliteStore({ filename, tableName: 'AUDIT' }));
      expect(await upper.migrate()).toEqual([]);
      expect((await upper.findByHash(hashOf('case')))?.id).toBe('id-case');
    });

    it('are idempotent: a second store on the same file applies nothing and records each version once', async () => {
      const first = track(createSqliteStore({ filename }));
      await first.insert(record('kept'));
      await first.close();

      const second = track(createSqliteStore({ filename }));
      expect(await second.migrate()).toEqual([]);

      expect(migrationRows(second.database)).toEqual(
        sqliteMigrations.map((m) => ({ table_name: 'refresh_tokens', version: m.version, name: m.name })),
      );
      expect(await second.findByHash(hashOf('kept'))).not.toBeNull();
    });

    it('record applied_at from the injected clock', () => {
      const store = track(createSqliteStore({ filename, clock: () => T0 }));

      const appliedAt = store.database.prepare('SELECT applied_at FROM jwt_refresh_migrations').pluck().all();
      expect(appliedAt).toEqual(sqliteMigrations.map(() => T0.getTime()));
    });

    it('are skipped with migrate: false, and migrate() then applies them', async () => {
      const store = track(createSqliteStore({ filename, migrate: false }));
      const tables = store.database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck();
      expect(tables.all()).not.toContain('refresh_tokens');

      expect(await store.migrate()).toEqual(sqliteMigrations.map((m) => m.version));

      await store.insert(record('after-migrate'));
      expect(await store.count()).toBe(1);
    });

    it('refuse to adopt a same-named table they did not create, recording nothing', () => {
      const database = track(new Database(filename));
      database.exec('CREATE TABLE refresh_tokens (id INTEGER PRIMARY KEY, refresh_token TEXT, username TEXT, valid DATETIME)');

      expect(() => createSqliteStore({ database })).toThrow(StoreError);
      expect(migrationRows(database)).toEqual([]);
    });

    it('apply each version once when several threads migrate a fresh file at once', async () => {
      const outcomes = await race(6, { filename, phase: 'migrate' });

      expect(outcomes).toEqual(Array.from({ length: 6 }, () => 'migrated'));
      const store = track(createSqliteStore({ filename }));
      expect(migrationRows(store.database).map((row) => row.version)).toEqual(sqliteMigrations.map((m) => m.version));
    });

    it('upgrade a version-2 database: rows stored before read metadata as null, new ones keep it', async () => {
      const old = track(createSqliteStore({ filename }));
      await old.insert(record('before-3'));
      // Back to the schema a release before migration 3 left behind.
      old.database.exec('ALTER TABLE refresh_tokens DROP COLUMN metadata; DELETE FROM jwt_refresh_migrations WHERE version = 3');
      await old.close();

      const upgraded = track(createSqliteStore({ filename, migrate: false }));
      expect(await upgraded.migrate()).toEqual([3]);
      expect((await upgraded.findByHash(hashOf('before-3')))?.metadata).toBeNull();
      await upgraded.insert(record('after-3', { metadata: '{"tenant":"acme"}' }));
      expect((await upgraded.findByHash(hashOf('after-3')))?.metadata).toBe('{"tenant":"acme"}');
    });
  });

  describe('options', () => {
    it('creates parent directories and sets WAL, synchronous NORMAL, busy_timeout and foreign keys', () => {
      const store = track(createSqliteStore({ filename: join(dir, 'a', 'b', 'c', 'tokens.sqlite') }));

      expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.database.pragma('synchronous', { simple: true })).toBe(1);
      expect(store.database.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(store.database.pragma('foreign_keys', { simple: true })).toBe(1);
    });

    it('works on a custom table name, next to the default table in the same database', async () => {
      const database = track(new Database(filename));
      const custom = createSqliteStore({ database, tableName: 'jwt_refresh_tokens' });
      const standard = createSqliteStore({ database });

      await custom.insert(record('in-custom'));
      await standard.insert(record('in-default-1'));
      await standard.insert(record('in-default-2'));

      expect(await custom.count()).toBe(1);
      expect(await standard.count()).toBe(2);
      expect(await custom.findByHash(hashOf('in-default-1'))).toBeNull();
      expect(database.prepare('SELECT token_hash FROM jwt_refresh_tokens').pluck().all()).toEqual([hashOf('in-custom')]);
      expect(migrationRows(database).map((row) => `${row.table_name}@${row.version}`)).toEqual([
        ...sqliteMigrations.map((m) => `jwt_refresh_tokens@${m.version}`),
        ...sqliteMigrations.map((m) => `refresh_tokens@${m.version}`),
      ]);
    });

    it('accepts a 63-character table name and refuses anything that is not an SQL identifier', () => {
      const database = track(new Database(':memory:'));
      expect(createSqliteStore({ database, tableName: `t${'x'.repeat(62)}` }).tableName).toHaveLength(63);

      for (const tableName of ['', '1tokens', 'refresh-tokens', 'tokens; DROP TABLE users', '"quoted"', `t${'x'.repeat(63)}`]) {
        expect(() => createSqliteStore({ database, tableName }), tableName).toThrow(ConfigError);
      }
    });

    it('needs exactly one of filename and database', () => {
      const database = track(new Database(':memory:'));

      expect(() => createSqliteStore({})).toThrow(ConfigError);
      expect(() => createSqliteStore({ filename, database })).toThrow(ConfigError);
    });

    it('leaves the pragmas of an app-owned database alone', () => {
      const database = track(new Database(filename));
      createSqliteStore({ database });

      expect(database.pragma('journal_mode', { simple: true })).toBe('delete');
    });
  });

  describe('schema', () => {
    it('indexes token_hash (unique), user_id, family_id and valid_until', () => {
      const store = track(createSqliteStore({ filename }));
      const indexes = store.database.pragma('index_list(refresh_tokens)') as Array<{ name: string; unique: number }>;
      const byColumns = indexes.map((index) => {
        const columns = store.database.pragma(`index_info(${index.name})`) as Array<{ name: string }>;
        return { columns: columns.map((c) => c.name).join(','), unique: index.unique === 1 };
      });

      expect(byColumns).toEqual(
        expect.arrayContaining([
          { columns: 'token_hash', unique: true },
          { columns: 'user_id', unique: false },
          { columns: 'family_id', unique: false },
          { columns: 'valid_until', unique: false },
        ]),
      );
    });

    it('finds expired rows for deleteExpired through the valid_until index', () => {
      const store = track(createSqliteStore({ filename }));
      const plan = store.database
        .prepare('EXPLAIN QUERY PLAN DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE valid_until < ? LIMIT ?)')
        .all(0, 10) as Array<{ detail: string }>;

      expect(plan.map((step) => step.detail).join('\n')).toContain('refresh_tokens_valid_until_idx');
    });
  });

  describe('connections', () => {
    it('close() leaves an app-owned database open and closes one it opened', async () => {
      const database = track(new Database(filename));
      const shared = createSqliteStore({ database });
      await shared.close();
      expect(database.open).toBe(true);
      expect(database.prepare('SELECT COUNT(*) FROM refresh_tokens').pluck().get()).toBe(0);

      const owned = track(createSqliteStore({ filename }));
      await owned.close();
      expect(owned.database.open).toBe(false);
    });

    it('wraps driver failures in StoreError, keeping the SQL message in cause only', async () => {
      const store = track(createSqliteStore({ filename }));
      store.database.exec('DROP TABLE refresh_tokens');

      const error: unknown = await store.findByHash(hashOf('x')).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toBe('Store operation failed: findByHash');
      expect((error as StoreError).cause).toBeInstanceOf(Database.SqliteError);
      expect(String((error as StoreError).cause)).toContain('no such table');
    });

    it('lets one of two connections win when both saw the parent live before rotating', async () => {
      const a = track(createSqliteStore({ filename }));
      const b = track(createSqliteStore({ filename }));
      const parent = record('parent');
      await a.insert(parent);
      // The check-then-act race: both connections read the parent as live...
      expect((await a.findByHash(parent.tokenHash))?.rotatedAt).toBeNull();
      expect((await b.findByHash(parent.tokenHash))?.rotatedAt).toBeNull();

      // ...then both rotate it; only the compare-and-set in the UPDATE keeps the second out.
      expect(await b.rotate(parent.tokenHash, successorOf(parent, 'from-b'), at(HOUR))).toBe('rotated');
      expect(await a.rotate(parent.tokenHash, successorOf(parent, 'from-a'), at(HOUR))).toBe('conflict');

      expect((await a.findByHash(parent.tokenHash))?.successorHash).toBe(hashOf('from-b'));
      expect(await a.findByHash(hashOf('from-a'))).toBeNull();
      expect(await a.count()).toBe(2);
    });

    it('lets exactly one of 8 threads, each on its own connection, rotate one parent', async () => {
      const store = track(createSqliteStore({ filename }));
      const parent = record('parent');
      await store.insert(parent);

      const outcomes = await race(8, { filename, phase: 'rotate', parent });

      expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(7);
      const winner = outcomes.indexOf('rotated');
      expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(hashOf(`thread-${winner}`));
      expect(await store.count()).toBe(2);
    });
  });
});

type RaceTask =
  | { filename: string; phase: 'migrate' }
  | { filename: string; phase: 'rotate'; parent: RefreshTokenRecord };

/**
 * Runs `threads` worker threads, each with its own better-sqlite3 connection
 * to `task.filename`, released at the same instant through a shared gate:
 * a real race between connections, which one thread (better-sqlite3 being
 * synchronous) cannot stage. Worker `i` rotates to the token `thread-<i>`.
 */
async function race(threads: number, task: RaceTask): Promise<Array<RotateOutcome | 'migrated'>> {
  const storeModule = buildStoreModule();
  const gate = new SharedArrayBuffer(4);
  const workers = Array.from({ length: threads }, (_, i) => {
    const successor = task.phase === 'rotate' ? successorOf(task.parent, `thread-${i}`) : null;
    return new Worker(new URL('./sqlite-race-worker.mjs', storeModule.root), {
      workerData: { ...task, storeModule: storeModule.url, gate, successor, rotatedAt: at(HOUR) },
    });
  });
  try {
    const ready = workers.map((worker) => once(worker, 'ready'));
    const done = workers.map((worker) => once(worker, 'done'));
    await Promise.all(ready);
    const flag = new Int32Array(gate);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return (await Promise.all(done)) as Array<RotateOutcome | 'migrated'>;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
    rmSync(fileURLToPath(storeModule.root), { recursive: true, force: true });
  }
}

function once(worker: Worker, type: 'ready' | 'done'): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    worker.on('message', (message: { type: string; value?: unknown }) => {
      if (message.type === type) {
        resolvePromise(message.value);
      }
    });
    worker.on('error', reject);
  });
}

const WORKER_SOURCE = `
import { parentPort, workerData } from 'node:worker_threads';
const { createSqliteStore } = await import(workerData.storeModule);
const gate = new Int32Array(workerData.gate);
if (workerData.phase === 'migrate') {
  parentPort.postMessage({ type: 'ready' });
  Atomics.wait(gate, 0, 0);
  const store = createSqliteStore({ filename: workerData.filename });
  await store.close();
  parentPort.postMessage({ type: 'done', value: 'migrated' });
} else {
  const store = createSqliteStore({ filename: workerData.filename });
  parentPort.postMessage({ type: 'ready' });
  Atomics.wait(gate, 0, 0);
  const outcome = await store.rotate(workerData.parent.tokenHash, workerData.successor, workerData.rotatedAt);
  await store.close();
  parentPort.postMessage({ type: 'done', value: outcome });
}
`;

/**
 * Worker threads load plain JavaScript, not the TypeScript vitest compiles,
 * so the store and its relative imports are transpiled (types stripped, code
 * unchanged) into a temp dir whose node_modules links to the project's.
 */
function buildStoreModule(): { root: URL; url: string } {
  const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
  const outDir = mkdtempSync(join(tmpdir(), 'jwt-refresh-race-'));
  symlinkSync(join(projectRoot, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(outDir, 'sqlite-race-worker.mjs'), WORKER_SOURCE);
  const pending = [join(projectRoot, 'src/stores/sqlite.ts')];
  const done = new Set<string>();
  for (let source = pending.pop(); source !== undefined; source = pending.pop()) {
    if (done.has(source)) {
      continue;
    }
    done.add(source);
    const text = readFileSync(source, 'utf8');
    for (const match of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(resolve(dirname(source), `${match[1] ?? ''}.ts`));
    }
    const output = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    const target = join(outDir, relative(projectRoot, source)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output);
  }
  const root = pathToFileURL(`${outDir}/`);
  return { root, url: new URL('src/stores/sqlite.js', root).href };
}

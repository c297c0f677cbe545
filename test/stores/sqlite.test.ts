import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite.js';
import { sqliteMigrations } from '../../src/stores/sqlite/sqlite-migrations.js';
import type { RefreshTokenRecord, RotateOutcome } from '../../src/stores/store.js';
import { runStoreConformance } from '../conformance/store.suite.js';
import { runStoreLifecycle, sequentialTableNames } from '../conformance/store-lifecycle.suite.js';
import { at, HOUR, labelHash as hashOf, recordMaker } from '../support/token-records.js';

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

// The defaults above batch writes (group commit) and checkpoint from a worker thread; this run is
// the store with both off: every write its own transaction, SQLite's auto-checkpoint in the request.
runStoreConformance('sqlite, group commit and background checkpoints off', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-sqlite-plain-'));
  const store = createSqliteStore({ filename: join(dir, 'tokens.sqlite'), groupCommit: false, checkpoint: false });
  return {
    store,
    rawRows: async () => store.database.prepare('SELECT * FROM refresh_tokens').all() as Array<Record<string, unknown>>,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** One file for every lifecycle case, each on its own tables, read through `lifecycleAdmin`. */
const lifecycleDir = mkdtempSync(join(tmpdir(), 'jwt-refresh-sqlite-lifecycle-'));
const lifecycleFile = join(lifecycleDir, 'tokens.sqlite');
let lifecycleAdmin: Database.Database | undefined;

function admin(): Database.Database {
  lifecycleAdmin ??= new Database(lifecycleFile);
  return lifecycleAdmin;
}

afterAll(() => {
  lifecycleAdmin?.close();
  rmSync(lifecycleDir, { recursive: true, force: true });
});

runStoreLifecycle('sqlite', {
  create: (options) => createSqliteStore(options as SqliteStoreOptions),
  table: {
    option: 'tableName',
    maxLength: 63,
    fresh: sequentialTableNames(),
  },
  connection: {
    owned: () => ({ filename: lifecycleFile }),
    shared: async () => {
      const database = new Database(lifecycleFile);
      return {
        options: { database },
        isOpen: async () => database.open && database.prepare('SELECT 1').pluck().get() === 1,
        close: async () => void database.close(),
      };
    },
    isClosed: async (store) => !store.database.open,
    failsAfterClose: true,
  },
  migrations: {
    mode: 'eager',
    steps: sqliteMigrations,
    needsSchema: true,
    records: async (table) => {
      const ledger = admin().prepare("SELECT 1 FROM sqlite_master WHERE name = 'jwt_refresh_migrations'").get();
      if (ledger === undefined) return [];
      const rows = admin()
        .prepare('SELECT version, name, applied_at FROM jwt_refresh_migrations WHERE table_name = ? ORDER BY version')
        .all(table) as Array<{ version: number; name: string; applied_at: number }>;
      return rows.map((row) => ({ version: row.version, name: row.name, appliedAt: new Date(row.applied_at) }));
    },
    foreignTable: {
      create: async (table) => {
        admin().exec(`CREATE TABLE "${table}" (id INTEGER PRIMARY KEY, refresh_token TEXT, username TEXT, valid DATETIME)`);
      },
      drop: async (table) => void admin().exec(`DROP TABLE "${table}"`),
    },
    withoutMetadata: async (table) => {
      admin().exec(`ALTER TABLE "${table}" DROP COLUMN metadata`);
      admin().prepare('DELETE FROM jwt_refresh_migrations WHERE table_name = ? AND version = 3').run(table);
    },
  },
  driverFailure: {
    break: async (store, table) => void store.database.exec(`DROP TABLE "${table}"`),
    cause: { code: 'SQLITE_ERROR', message: expect.stringContaining('no such table') },
  },
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
    return database.prepare('SELECT table_name, version, name FROM jwt_refresh_migrations ORDER BY table_name, version').all() as Array<{
      table_name: string;
      version: number;
      name: string;
    }>;
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

    it('apply each version once when several threads migrate a fresh file at once', async () => {
      const outcomes = await race(6, { filename, phase: 'migrate' });

      expect(outcomes).toEqual(Array.from({ length: 6 }, () => 'migrated'));
      const store = track(createSqliteStore({ filename }));
      expect(migrationRows(store.database).map((row) => row.version)).toEqual(sqliteMigrations.map((m) => m.version));
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

type RaceTask = { filename: string; phase: 'migrate' } | { filename: string; phase: 'rotate'; parent: RefreshTokenRecord };

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

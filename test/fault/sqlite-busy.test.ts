import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';
import { testOptions } from '../support/app-options.js';

// A SQLite file whose write lock another connection holds (a checkpoint, a second process, an operator's shell)
// is a store that is busy for now: the client gets 503 with Retry-After, not a 500, and nothing is lost.

const directory = mkdtempSync(join(tmpdir(), 'jwt-refresh-busy-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('a SQLite store locked by another connection', () => {
  it('answers 503 with Retry-After while the lock is held, and works again once it is released', async () => {
    const file = join(directory, 'busy.db');
    // The app's own connection, with no busy wait, so the test needs no 5 s timeout to see the lock.
    const database = new Database(file);
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 0');
    const store = createSqliteStore({ database });
    await store.migrate();
    const fixture = await testOptions({ store });
    const jwtRefresh = await createJwtRefresh(fixture.options);
    const login = () =>
      jwtRefresh.handle(
        new Request('http://localhost/api/login_check', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: 'secret-password' }),
        }),
      );

    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const refused = await login();
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get('retry-after')).toBe('2');
    expect(await refused?.json()).toEqual({ code: 503, message: 'Service temporarily unavailable.' });
    other.exec('ROLLBACK');
    other.close();

    expect((await login())?.status).toBe(200);
    await jwtRefresh.close();
    database.close();
  });
});

/**
 * The store conformance suite: the one definition of what a
 * {@link RefreshTokenStore} must do. Every store runs it, from its own test
 * file, against a real backend:
 *
 * @example
 * runStoreConformance('memory', async () => {
 *   const store = createMemoryStore();
 *   return { store, rawRows: async () => store.snapshot().map((r) => ({ ...r })), cleanup: () => store.close() };
 * });
 *
 * Time is fixed dates only; nothing sleeps.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JwtInvalidError, RefreshTokenInvalidError, StoreError } from '../../src/errors.js';
import type { SessionTokens } from '../../src/sessions/session-tokens.js';
import { createJwtRefresh, type JwtRefreshOptions } from '../../src/create-jwt-refresh.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../../src/stores/store.js';
import { createTokenHasher } from '../../src/tokens/hash-token.js';
import { testOptions } from '../support/app-options.js';
import { at, DAY, HOUR, hashOf, MINUTE, plainToken, record, successorOf, T0 } from '../support/token-records.js';

/** What a store's test file hands the suite for each test case: a fresh, empty store. */
export interface StoreUnderTest {
  store: RefreshTokenStore;
  /** Every stored row/document as the backend holds it, for checks on what is persisted. */
  rawRows: () => Promise<Array<Record<string, unknown>>>;
  /** Closes the store and removes what the factory created. */
  cleanup: () => Promise<void>;
}

async function insertAll(store: RefreshTokenStore, records: RefreshTokenRecord[]): Promise<void> {
  for (const r of records) {
    await store.insert(r);
  }
}

async function mustFind(store: RefreshTokenStore, tokenHash: string): Promise<RefreshTokenRecord> {
  const found = await store.findByHash(tokenHash);
  if (found === null) {
    throw new Error('expected the record to be stored');
  }
  return found;
}

const sha256 = createTokenHasher(undefined);

const DATE_FIELDS = ['validUntil', 'familyDeadline', 'createdAt', 'lastUsedAt', 'rotatedAt', 'revokedAt'] as const;

/**
 * Defines `describe('store conformance: <name>')` with one case per port
 * behaviour. `factory` runs before every case and must give an empty store.
 *
 * @example
 * runStoreConformance('sqlite', async () => {
 *   const dir = mkdtempSync(join(tmpdir(), 'store-'));
 *   const store = createSqliteStore({ filename: join(dir, 'tokens.sqlite') });
 *   return {
 *     store,
 *     rawRows: async () => store.database.prepare('SELECT * FROM refresh_tokens').all() as Array<Record<string, unknown>>,
 *     cleanup: async () => { await store.close(); rmSync(dir, { recursive: true }); },
 *   };
 * });
 */
export function runStoreConformance(name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`store conformance: ${name}`, () => {
    let subject: StoreUnderTest | undefined;
    let store: RefreshTokenStore;

    beforeEach(async () => {
      // Cleared first: when the factory throws, afterEach must not clean the previous case twice.
      subject = undefined;
      subject = await factory();
      store = subject.store;
    });

    afterEach(async () => {
      await subject?.cleanup();
    });

    describe('insert and findByHash', () => {
      it('answers a ping (what /health asks) while the backend is up', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('round-trips a record with every field set, Dates as Dates to the millisecond', async () => {
        const full = record('full', {
          generation: 3,
          validUntil: at(DAY + 1),
          familyDeadline: at(30 * DAY + 2),
          createdAt: at(3),
          lastUsedAt: at(HOUR + 4),
          rotatedAt: at(HOUR + 5),
          successorHash: hashOf('full-next'),
          revokedAt: at(2 * HOUR + 6),
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
          ip: '2001:db8::1',
          metadata: '{"device":"laptop"}',
        });
        await store.insert(full);

        const found = await mustFind(store, full.tokenHash);
        expect(found).toEqual(full);
        for (const field of DATE_FIELDS) {
          expect(found[field], field).toBeInstanceOf(Date);
          expect(found[field]?.getTime(), field).toBe(full[field]?.getTime());
        }
      });

      it('round-trips a record whose optional fields are null', async () => {
        const minimal = record('minimal');
        await store.insert(minimal);

        expect(await store.findByHash(minimal.tokenHash)).toEqual(minimal);
      });

      it('answers null for an unknown hash', async () => {
        await store.insert(record('known'));

        expect(await store.findByHash(hashOf('unknown'))).toBeNull();
      });

      it('rejects a second record with the same hash with a StoreError that does not echo the hash, keeping the first', async () => {
        const first = record('dup', { userAgent: 'first' });
        await store.insert(first);

        const error: unknown = await store.insert(record('dup', { id: 'id-other', userAgent: 'second' })).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).message).not.toContain(first.tokenHash);
        expect(await store.findByHash(first.tokenHash)).toEqual(first);
        expect(await store.count()).toBe(1);
      });

      it('keeps its own copy: mutating the inserted or the returned object changes nothing stored', async () => {
        const original = record('copy');
        const inserted = record('copy');
        await store.insert(inserted);
        inserted.userId = 'mallory';
        inserted.validUntil.setTime(0);

        const returned = await mustFind(store, original.tokenHash);
        returned.revokedAt = at(1);
        returned.createdAt.setTime(0);

        expect(await store.findByHash(original.tokenHash)).toEqual(original);
      });
    });

    describe('touch', () => {
      it('extends a live record and sets lastUsedAt, nothing else', async () => {
        const live = record('live');
        await store.insert(live);

        expect(await store.touch(live.tokenHash, at(2 * DAY + 7), at(HOUR + 8))).toBe(true);
        expect(await store.findByHash(live.tokenHash)).toEqual({
          ...live,
          validUntil: at(2 * DAY + 7),
          lastUsedAt: at(HOUR + 8),
        });
      });

      it('refuses a rotated record and leaves it unchanged', async () => {
        const rotated = record('rotated', { rotatedAt: at(HOUR), lastUsedAt: at(HOUR), successorHash: hashOf('x') });
        await store.insert(rotated);

        expect(await store.touch(rotated.tokenHash, at(2 * DAY), at(2 * HOUR))).toBe(false);
        expect(await store.findByHash(rotated.tokenHash)).toEqual(rotated);
      });

      it('refuses a revoked record and leaves it unchanged', async () => {
        const revoked = record('revoked', { revokedAt: at(HOUR) });
        await store.insert(revoked);

        expect(await store.touch(revoked.tokenHash, at(2 * DAY), at(2 * HOUR))).toBe(false);
        expect(await store.findByHash(revoked.tokenHash)).toEqual(revoked);
      });

      it('answers false for an unknown hash and stores nothing', async () => {
        expect(await store.touch(hashOf('nobody'), at(DAY), at(HOUR))).toBe(false);
        expect(await store.count()).toBe(0);
      });
    });

    describe('rotate', () => {
      it('marks the parent rotated (rotatedAt, lastUsedAt, successorHash) and stores the successor', async () => {
        const parent = record('parent', { userAgent: 'curl/8.5.0', ip: '203.0.113.7', familyDeadline: at(30 * DAY) });
        await store.insert(parent);
        const rotatedAt = at(HOUR + 321);
        const successor = successorOf(parent, 'child', rotatedAt);

        expect(await store.rotate(parent.tokenHash, successor, rotatedAt)).toBe('rotated');

        expect(await store.findByHash(parent.tokenHash)).toEqual({
          ...parent,
          rotatedAt,
          lastUsedAt: rotatedAt,
          successorHash: successor.tokenHash,
        });
        expect(await store.findByHash(successor.tokenHash)).toEqual(successor);
        expect(await store.count()).toBe(2);
      });

      it('answers conflict for an already rotated parent and writes nothing', async () => {
        const parent = record('parent');
        await store.insert(parent);
        const first = successorOf(parent, 'first-child', at(HOUR));
        expect(await store.rotate(parent.tokenHash, first, at(HOUR))).toBe('rotated');
        const afterFirst = await mustFind(store, parent.tokenHash);

        const second = successorOf(parent, 'second-child', at(2 * HOUR));
        expect(await store.rotate(parent.tokenHash, second, at(2 * HOUR))).toBe('conflict');

        expect(await store.findByHash(parent.tokenHash)).toEqual(afterFirst);
        expect(await store.findByHash(second.tokenHash)).toBeNull();
        expect(await store.count()).toBe(2);
      });

      it('answers conflict for a revoked parent and writes nothing', async () => {
        const parent = record('parent', { revokedAt: at(MINUTE) });
        await store.insert(parent);
        const child = successorOf(parent, 'child', at(HOUR));

        expect(await store.rotate(parent.tokenHash, child, at(HOUR))).toBe('conflict');

        expect(await store.findByHash(parent.tokenHash)).toEqual(parent);
        expect(await store.findByHash(child.tokenHash)).toBeNull();
        expect(await store.count()).toBe(1);
      });

      it('answers conflict for an unknown parent and writes nothing', async () => {
        await store.insert(record('bystander'));
        const child = successorOf(record('ghost'), 'child', at(HOUR));

        expect(await store.rotate(hashOf('ghost'), child, at(HOUR))).toBe('conflict');

        expect(await store.findByHash(child.tokenHash)).toBeNull();
        expect(await store.count()).toBe(1);
      });

      it('rejects a successor whose hash is taken, leaving the parent unrotated', async () => {
        const parent = record('parent');
        const taken = record('taken', { familyId: 'family-2' });
        await insertAll(store, [parent, taken]);
        const clash = successorOf(parent, 'taken', at(HOUR));

        await expect(store.rotate(parent.tokenHash, clash, at(HOUR))).rejects.toBeInstanceOf(StoreError);

        expect(await store.findByHash(parent.tokenHash)).toEqual(parent);
        expect(await store.findByHash(taken.tokenHash)).toEqual(taken);
        expect(await store.count()).toBe(2);
      });

      it('lets exactly one of 50 parallel rotations of one parent win, storing exactly one successor', async () => {
        const parent = record('contended');
        await store.insert(parent);
        const rotatedAt = at(HOUR);
        const successors = Array.from({ length: 50 }, (_, i) => successorOf(parent, `contender-${i}`, rotatedAt));
        const before = await store.count();

        const outcomes = await Promise.all(successors.map((s) => store.rotate(parent.tokenHash, s, rotatedAt)));

        expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(49);
        const winner = successors[outcomes.indexOf('rotated')];
        const stored = (await Promise.all(successors.map((s) => store.findByHash(s.tokenHash)))).filter((r) => r !== null);
        expect(stored).toEqual([winner]);
        expect((await mustFind(store, parent.tokenHash)).successorHash).toBe(winner?.tokenHash);
        expect(await store.count()).toBe(before + 1);
      });
    });

    describe('revokeFamily, revokeUser', () => {
      it('revokeFamily revokes live and rotated records once, keeping the first revokedAt, counts only changes, and leaves other families and users alone', async () => {
        const f1a = record('f1a', { rotatedAt: at(MINUTE), successorHash: hashOf('f1b') });
        const f1b = record('f1b', { generation: 1, createdAt: at(MINUTE) });
        const f1old = record('f1old', { revokedAt: at(1) });
        const sameUserOtherFamily = record('f2', { familyId: 'family-2' });
        const otherUser = record('u2', { userId: 'user-2', familyId: 'family-3' });
        await insertAll(store, [f1a, f1b, f1old, sameUserOtherFamily, otherUser]);

        expect(await store.revokeFamily('family-1', at(HOUR))).toBe(2);

        expect(await store.findByHash(f1a.tokenHash)).toEqual({ ...f1a, revokedAt: at(HOUR) });
        expect(await store.findByHash(f1b.tokenHash)).toEqual({ ...f1b, revokedAt: at(HOUR) });
        expect(await store.findByHash(f1old.tokenHash)).toEqual(f1old);
        expect(await store.findByHash(sameUserOtherFamily.tokenHash)).toEqual(sameUserOtherFamily);
        expect(await store.findByHash(otherUser.tokenHash)).toEqual(otherUser);
        expect(await store.revokeFamily('family-1', at(2 * HOUR))).toBe(0);
        expect((await mustFind(store, f1a.tokenHash)).revokedAt).toEqual(at(HOUR));
        expect(await store.revokeFamily('family-unknown', at(2 * HOUR))).toBe(0);
      });

      it('revokeUser revokes every family of the user, counts only changes, and leaves other users alone', async () => {
        const a = record('a');
        const b = record('b', { familyId: 'family-2' });
        const alreadyRevoked = record('c', { familyId: 'family-3', revokedAt: at(1) });
        const otherUser = record('other', { userId: 'user-2', userIdentifier: 'bob', familyId: 'family-4' });
        await insertAll(store, [a, b, alreadyRevoked, otherUser]);

        expect(await store.revokeUser('user-1', at(HOUR))).toBe(2);

        expect(await store.findByHash(a.tokenHash)).toEqual({ ...a, revokedAt: at(HOUR) });
        expect(await store.findByHash(b.tokenHash)).toEqual({ ...b, revokedAt: at(HOUR) });
        expect(await store.findByHash(alreadyRevoked.tokenHash)).toEqual(alreadyRevoked);
        expect(await store.findByHash(otherUser.tokenHash)).toEqual(otherUser);
        expect(await store.revokeUser('user-1', at(2 * HOUR))).toBe(0);
        expect(await store.revokeUser('user-unknown', at(2 * HOUR))).toBe(0);
      });

      // A logout (or reuse detection) racing a refresh of the same family must not leave
      // the refresh's successor live: the session would outlive its revocation.
      it.each(['revokeFamily', 'revokeUser'] as const)('%s racing rotations leaves no live record behind', async (revoke) => {
        const parents = Array.from({ length: 40 }, (_, i) =>
          record(`race-${i}`, { familyId: `family-race-${i}`, userId: `user-race-${i}` }),
        );
        await insertAll(store, parents);
        await Promise.all(
          parents.flatMap((parent, i) => [
            store.rotate(parent.tokenHash, successorOf(parent, `race-${i}-next`, at(MINUTE)), at(MINUTE)),
            revoke === 'revokeFamily' ? store.revokeFamily(parent.familyId, at(MINUTE)) : store.revokeUser(parent.userId, at(MINUTE)),
          ]),
        );
        for (const [i, parent] of parents.entries()) {
          expect((await mustFind(store, parent.tokenHash)).revokedAt, `parent ${i}`).not.toBeNull();
          const successor = await store.findByHash(hashOf(`race-${i}-next`));
          if (successor !== null) expect(successor.revokedAt, `successor ${i}`).not.toBeNull();
        }
      });
    });

    describe('listFamilies', () => {
      it("lists only families with a live current token, newest login first, with the first token's createdAt", async () => {
        const now = at(3 * DAY);
        // Family A: login at T0, rotated a day later; the current token carries newer metadata.
        const a0 = record('a0', {
          familyId: 'fam-a',
          validUntil: at(2 * DAY),
          familyDeadline: at(60 * DAY),
          userAgent: 'ua-login',
          ip: '198.51.100.1',
        });
        const a1 = { ...successorOf(a0, 'a1', at(DAY)), validUntil: at(4 * DAY), userAgent: 'ua-a', ip: '198.51.100.2' };
        // Family B: a later login, never refreshed.
        const b0 = record('b0', {
          familyId: 'fam-b',
          createdAt: at(2 * DAY + 5),
          validUntil: at(5 * DAY),
          userAgent: 'ua-b',
          ip: '198.51.100.3',
        });
        // Not listed: revoked, expired (valid until exactly now), rotated without a live successor, another user's.
        const revoked = record('revoked', {
          familyId: 'fam-revoked',
          createdAt: at(2 * DAY + 9),
          validUntil: at(5 * DAY),
          revokedAt: at(2 * DAY + 10),
        });
        const expired = record('expired', { familyId: 'fam-expired', createdAt: at(2 * DAY + 8), validUntil: now });
        const orphan = record('orphan', {
          familyId: 'fam-orphan',
          createdAt: at(2 * DAY + 7),
          validUntil: at(5 * DAY),
          rotatedAt: at(2 * DAY + 8),
          successorHash: hashOf('gone'),
        });
        const otherUser = record('other', {
          userId: 'user-2',
          familyId: 'fam-other',
          createdAt: at(2 * DAY + 6),
          validUntil: at(5 * DAY),
        });
        await insertAll(store, [a0, b0, revoked, expired, orphan, otherUser]);
        expect(await store.rotate(a0.tokenHash, a1, at(DAY))).toBe('rotated');

        expect(await store.listFamilies('user-1', now)).toEqual([
          {
            familyId: 'fam-b',
            userId: 'user-1',
            userIdentifier: 'alice@example.com',
            createdAt: at(2 * DAY + 5),
            lastUsedAt: null,
            validUntil: at(5 * DAY),
            familyDeadline: null,
            userAgent: 'ua-b',
            ip: '198.51.100.3',
            metadata: null,
          },
          {
            familyId: 'fam-a',
            userId: 'user-1',
            userIdentifier: 'alice@example.com',
            createdAt: at(0),
            lastUsedAt: at(DAY),
            validUntil: at(4 * DAY),
            familyDeadline: at(60 * DAY),
            userAgent: 'ua-a',
            ip: '198.51.100.2',
            metadata: null,
          },
        ]);
        expect((await store.listFamilies('user-2', now)).map((f) => f.familyId)).toEqual(['fam-other']);
      });

      it('reports the latest use in the family, including a touch of the current token', async () => {
        const f0 = record('f0', { validUntil: at(DAY) });
        await store.insert(f0);
        expect(await store.rotate(f0.tokenHash, successorOf(f0, 'f1', at(HOUR)), at(HOUR))).toBe('rotated');
        expect(await store.touch(hashOf('f1'), at(3 * DAY), at(2 * HOUR))).toBe(true);

        const [family] = await store.listFamilies('user-1', at(2 * HOUR));
        expect(family?.lastUsedAt).toEqual(at(2 * HOUR));
        expect(family?.validUntil).toEqual(at(3 * DAY));
        expect(family?.createdAt).toEqual(T0);
      });

      it('answers an empty list for a user without families', async () => {
        await store.insert(record('someone'));

        expect(await store.listFamilies('user-unknown', T0)).toEqual([]);
      });
    });

    describe('deleteExpired', () => {
      it('deletes in batches (10, 10, 5, 0) only records valid until before the cutoff', async () => {
        const cutoff = at(DAY);
        const expired = Array.from({ length: 25 }, (_, i) =>
          record(`expired-${i}`, {
            familyId: `fam-e${i}`,
            validUntil: at(DAY - 1 - i * MINUTE),
            revokedAt: i % 5 === 0 ? at(1) : null,
          }),
        );
        const live = Array.from({ length: 5 }, (_, i) =>
          // The first one ends exactly at the cutoff: "before" is strict.
          record(`live-${i}`, { familyId: `fam-l${i}`, validUntil: at(DAY + i * MINUTE) }),
        );
        await insertAll(store, [...expired, ...live]);

        const batches: number[] = [];
        for (let i = 0; i < 4; i += 1) {
          batches.push(await store.deleteExpired(cutoff, 10));
        }

        expect(batches).toEqual([10, 10, 5, 0]);
        expect(await store.count()).toBe(5);
        for (const r of live) {
          expect(await store.findByHash(r.tokenHash)).toEqual(r);
        }
        for (const r of expired) {
          expect(await store.findByHash(r.tokenHash)).toBeNull();
        }
        expect(await store.listFamilies('user-1', T0)).toHaveLength(5);
      });

      it('refuses a batch size that is not a positive integer and deletes nothing', async () => {
        await store.insert(record('old', { validUntil: at(-DAY) }));

        for (const batchSize of [0, -1, 1.5, Number.NaN]) {
          await expect(store.deleteExpired(T0, batchSize), String(batchSize)).rejects.toThrow();
        }
        expect(await store.count()).toBe(1);
      });
    });

    describe('count and close', () => {
      it('counts every stored record whatever its state', async () => {
        expect(await store.count()).toBe(0);
        const parent = record('p');
        await insertAll(store, [parent, record('revoked', { revokedAt: at(1) }), record('old', { validUntil: at(-DAY) })]);
        expect(await store.count()).toBe(3);
        expect(await store.rotate(parent.tokenHash, successorOf(parent, 'c', at(HOUR)), at(HOUR))).toBe('rotated');
        expect(await store.count()).toBe(4);
        expect(await store.deleteExpired(T0, 100)).toBe(1);
        expect(await store.count()).toBe(3);
      });

      it('closes, and closing twice is harmless', async () => {
        await store.close();
        await expect(store.close()).resolves.toBeUndefined();
      });
    });

    describe('access-token blocklist', () => {
      it('blocks a jti until its expiry, and not another jti', async () => {
        await store.blockAccessToken('jti-1', at(HOUR));
        expect(await store.isAccessTokenBlocked('jti-1', at(0))).toBe(true);
        expect(await store.isAccessTokenBlocked('jti-1', at(HOUR - 1))).toBe(true);
        expect(await store.isAccessTokenBlocked('jti-1', at(HOUR))).toBe(false);
        expect(await store.isAccessTokenBlocked('jti-2', at(0))).toBe(false);
      });

      it('is idempotent and keeps the later expiry', async () => {
        await store.blockAccessToken('jti-1', at(HOUR));
        await store.blockAccessToken('jti-1', at(2 * HOUR));
        await store.blockAccessToken('jti-1', at(MINUTE));
        expect(await store.isAccessTokenBlocked('jti-1', at(HOUR + MINUTE))).toBe(true);
      });
    });

    describe('revoked-before watermark', () => {
      it('answers null, then the watermark, which only moves forward, per user', async () => {
        expect(await store.getRevokedBefore('user-1')).toBeNull();
        await store.setRevokedBefore('user-1', at(HOUR));
        expect((await store.getRevokedBefore('user-1'))?.getTime()).toBe(at(HOUR).getTime());
        await store.setRevokedBefore('user-1', at(MINUTE));
        expect((await store.getRevokedBefore('user-1'))?.getTime()).toBe(at(HOUR).getTime());
        await store.setRevokedBefore('user-1', at(2 * HOUR));
        expect((await store.getRevokedBefore('user-1'))?.getTime()).toBe(at(2 * HOUR).getTime());
        expect(await store.getRevokedBefore('user-2')).toBeNull();
      });
    });

    describe('rate limits', () => {
      it('counts hits per key within a fixed window and starts over in the next one', async () => {
        const windowStart = new Date(Math.floor(T0.getTime() / 60_000) * 60_000);
        const first = await store.hitRateLimit('login:192.0.2.1', 60, T0);
        expect(first.count).toBe(1);
        expect(first.resetAt.getTime()).toBe(windowStart.getTime() + 60_000);
        expect((await store.hitRateLimit('login:192.0.2.1', 60, T0)).count).toBe(2);
        expect((await store.hitRateLimit('login:192.0.2.2', 60, T0)).count).toBe(1);
        const next = await store.hitRateLimit('login:192.0.2.1', 60, new Date(windowStart.getTime() + 60_000));
        expect(next.count).toBe(1);
      });

      it('counts 50 parallel hits exactly', async () => {
        const hits = await Promise.all(Array.from({ length: 50 }, () => store.hitRateLimit('refresh:family-1', 60, T0)));
        expect(hits.map((hit) => hit.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      });
    });

    describe('purgeExpiredState and migrate', () => {
      it('keeps live blocklist entries and rate-limit windows when purging', async () => {
        await store.blockAccessToken('old', at(MINUTE));
        await store.blockAccessToken('live', at(DAY));
        await store.hitRateLimit('k', 60, T0);
        // Stores that let the backend expire keys may report 0; SQL stores remove both stale entries.
        expect(await store.purgeExpiredState(at(HOUR))).toBeLessThanOrEqual(2);
        expect(await store.isAccessTokenBlocked('live', at(HOUR))).toBe(true);
      });

      it('deletes and counts the watermarks before the watermark cutoff, keeping later ones and the one at it', async () => {
        await store.setRevokedBefore('user-old', at(MINUTE));
        await store.setRevokedBefore('family:family-old', at(2 * MINUTE));
        await store.setRevokedBefore('user-at-cutoff', at(HOUR));
        await store.setRevokedBefore('family:family-new', at(2 * HOUR));
        // Nothing else is stored, so every store counts exactly the watermarks it deleted.
        expect(await store.purgeExpiredState(at(HOUR), at(HOUR))).toBe(2);
        expect(await store.getRevokedBefore('user-old')).toBeNull();
        expect(await store.getRevokedBefore('family:family-old')).toBeNull();
        expect((await store.getRevokedBefore('user-at-cutoff'))?.getTime()).toBe(at(HOUR).getTime());
        expect((await store.getRevokedBefore('family:family-new'))?.getTime()).toBe(at(2 * HOUR).getTime());
        expect(await store.purgeExpiredState(at(HOUR), at(HOUR))).toBe(0);
      });

      it('keeps every watermark when no watermark cutoff is given', async () => {
        await store.setRevokedBefore('user-1', at(MINUTE));
        await store.setRevokedBefore('family:family-1', at(MINUTE));
        expect(await store.purgeExpiredState(at(DAY))).toBe(0);
        expect((await store.getRevokedBefore('user-1'))?.getTime()).toBe(at(MINUTE).getTime());
        expect((await store.getRevokedBefore('family:family-1'))?.getTime()).toBe(at(MINUTE).getTime());
      });

      it('purges watermarks together with stale blocklist entries, leaving live state alone', async () => {
        await store.blockAccessToken('old', at(MINUTE));
        await store.blockAccessToken('live', at(DAY));
        await store.setRevokedBefore('user-old', at(MINUTE));
        await store.setRevokedBefore('user-new', at(2 * HOUR));
        // The blocklist entry may be left to a backend's own expiry; the watermark never is.
        const removed = await store.purgeExpiredState(at(HOUR), at(HOUR));
        expect(removed).toBeGreaterThanOrEqual(1);
        expect(removed).toBeLessThanOrEqual(2);
        expect(await store.getRevokedBefore('user-old')).toBeNull();
        expect((await store.getRevokedBefore('user-new'))?.getTime()).toBe(at(2 * HOUR).getTime());
        expect(await store.isAccessTokenBlocked('live', at(HOUR))).toBe(true);
      });

      it('stores a watermark again after it was purged, even an earlier one', async () => {
        await store.setRevokedBefore('user-1', at(HOUR));
        expect(await store.purgeExpiredState(at(2 * HOUR), at(2 * HOUR))).toBe(1);
        await store.setRevokedBefore('user-1', at(MINUTE));
        expect((await store.getRevokedBefore('user-1'))?.getTime()).toBe(at(MINUTE).getTime());
      });

      it('migrates again without harm, keeping the data', async () => {
        await store.insert(record('m0'));
        await store.migrate();
        await store.migrate();
        expect((await store.findByHash(hashOf('m0')))?.id).toBe('id-m0');
      });
    });

    // The core on top of this store, through the Fetch handlers: what a user of the
    // store sees over HTTP, so every backend answers the same (SPEC §3, §7, §9).
    describe('refresh flows over this store', () => {
      async function app(overrides: Partial<JwtRefreshOptions> = {}) {
        const fixture = await testOptions({ ...overrides, store });
        const jwtRefresh = await createJwtRefresh(fixture.options);
        const post = async (path: string, json: Record<string, unknown>) => {
          const response = await jwtRefresh.handle(
            new Request(`http://localhost${path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(json),
            }),
          );
          return { status: response!.status, body: (await response!.json()) as Record<string, unknown> };
        };
        const login = async (username = 'alice') => {
          const response = await post('/api/login_check', { username, password: 'secret-password' });
          expect(response.status).toBe(200);
          return response.body.refresh_token as string;
        };
        const refresh = (token: string) => post('/api/token/refresh', { refresh_token: token });
        return { jwtRefresh, clock: fixture.clock, users: fixture.users, login, refresh };
      }

      // SPEC §5: a logout never loses to a refresh racing it (an SPA's silent refresh
      // overlapping the user's click, or a refresh whose answer was lost).
      it('ends the session when a logout and a refresh of one token race, 50 times: nothing of the family refreshes or verifies afterwards', async () => {
        const { jwtRefresh, users } = await app();
        const alice = users[0]!;
        // The logout starts with the refresh, a few event-loop turns into it, or once it has
        // answered (its answer lost to the client): each store is met in every interleaving.
        const turns = async (count: number) => {
          for (let turn = 0; turn < count; turn += 1) await new Promise((resolve) => setImmediate(resolve));
        };
        const races = await Promise.all(
          Array.from({ length: 50 }, async (_, race) => {
            const session = await jwtRefresh.issueSession(alice);
            const refreshing = jwtRefresh.refreshSession(session.refreshToken).catch((error: unknown) => error);
            if (race % 3 === 2) await refreshing;
            else await turns(race % 3 === 1 ? 1 + (race % 7) : 0);
            const [refreshed, ended] = await Promise.all([refreshing, jwtRefresh.endSession(session.refreshToken)]);
            return { session, refreshed, ended };
          }),
        );
        for (const { session, refreshed, ended } of races) {
          expect(ended).toEqual({ ended: true, sessionId: session.sessionId });
          const refreshTokens = [session.refreshToken];
          const accessTokens = [session.accessToken];
          if (refreshed instanceof Error) {
            expect(refreshed).toBeInstanceOf(RefreshTokenInvalidError);
          } else {
            const next = refreshed as SessionTokens;
            expect(next.sessionId).toBe(session.sessionId);
            refreshTokens.push(next.refreshToken);
            accessTokens.push(next.accessToken);
          }
          for (const token of refreshTokens) {
            await expect(jwtRefresh.refreshSession(token)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
          }
          for (const token of accessTokens) {
            await expect(jwtRefresh.verifyAccessToken(token)).rejects.toBeInstanceOf(JwtInvalidError);
          }
        }
        expect(await jwtRefresh.listSessions(alice.id)).toEqual([]);
      });

      it('answers 50 parallel refreshes of one token inside the grace window with one successor, stored once', async () => {
        const { login, refresh } = await app();
        const first = await login();
        const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(first)));
        expect(responses.map((response) => response.status)).toEqual(Array.from({ length: 50 }, () => 200));
        const successors = new Set(responses.map((response) => response.body.refresh_token));
        expect(successors.size).toBe(1);
        const [successor] = [...successors] as string[];
        expect(successor).not.toBe(first);
        const parent = await mustFind(store, sha256(first));
        expect(parent.successorHash).toBe(sha256(successor!));
        expect((await mustFind(store, sha256(successor!))).rotatedAt).toBeNull();
        expect(await store.count()).toBe(2);
        expect(await subject!.rawRows()).toHaveLength(2);
      });

      it('lets exactly one of 50 parallel refreshes win with reuseGraceSeconds 0, and the family ends revoked', async () => {
        const { login, refresh } = await app({ reuseGraceSeconds: 0 });
        const first = await login();
        const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(first)));
        const winners = responses.filter((response) => response.status === 200);
        expect(winners).toHaveLength(1);
        expect(responses.filter((response) => response.status === 401)).toHaveLength(49);
        const successor = winners[0]!.body.refresh_token as string;
        expect((await mustFind(store, sha256(first))).revokedAt).not.toBeNull();
        expect((await mustFind(store, sha256(successor))).revokedAt).not.toBeNull();
        expect(await store.count()).toBe(2);
        expect((await refresh(successor)).body).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
      });

      it('revokes the family when a rotated token comes back after the grace window, firing refreshTokenReused', async () => {
        const { jwtRefresh, clock, login, refresh } = await app();
        const reused: string[] = [];
        jwtRefresh.events.on('refreshTokenReused', ({ record: reusedRecord }) => {
          reused.push(reusedRecord.familyId);
        });
        const first = await login();
        const second = (await refresh(first)).body.refresh_token as string;
        clock.advance(11);
        expect((await refresh(first)).status).toBe(401);
        const family = (await mustFind(store, sha256(first))).familyId;
        expect(reused).toEqual([family]);
        expect((await mustFind(store, sha256(second))).revokedAt).not.toBeNull();
        expect((await refresh(second)).status).toBe(401);
      });

      it('fails a grace-window replay on an instance with another secret without revoking the family', async () => {
        const { login, refresh } = await app();
        const other = await app({ secret: 'another-server-secret-9876543210' });
        const first = await login();
        const second = (await refresh(first)).body.refresh_token as string;
        expect((await other.refresh(first)).body).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
        expect((await mustFind(store, sha256(first))).revokedAt).toBeNull();
        expect((await refresh(second)).status).toBe(200);
      });

      it('keeps only the newest maxTokensPerUser live families of a user, and leaves other users alone', async () => {
        const { clock, login, refresh } = await app({ maxTokensPerUser: 2 });
        const bob = await login('bob');
        const tokens: string[] = [];
        for (let i = 0; i < 3; i += 1) {
          clock.advance(1);
          tokens.push(await login('alice'));
        }
        expect((await mustFind(store, sha256(tokens[0]!))).revokedAt).not.toBeNull();
        const families = await store.listFamilies('u-alice', new Date(clock().getTime()));
        expect(families.map((family) => family.familyId)).toEqual(
          await Promise.all([tokens[2]!, tokens[1]!].map(async (token) => (await mustFind(store, sha256(token))).familyId)),
        );
        expect((await refresh(tokens[0]!)).status).toBe(401);
        expect((await refresh(tokens[1]!)).status).toBe(200);
        expect((await refresh(bob)).status).toBe(200);
      });
    });

    describe('persisted data', () => {
      it('holds hashes, never a plain token', async () => {
        const labels = ['p0', 'p1', 'q0', 'revoked'];
        const p0 = record('p0', { userAgent: 'ua', ip: '192.0.2.1' });
        await insertAll(store, [p0, record('q0', { familyId: 'family-2' })]);
        expect(await store.rotate(p0.tokenHash, successorOf(p0, 'p1', at(HOUR)), at(HOUR))).toBe('rotated');
        await store.insert(record('revoked', { familyId: 'family-3', revokedAt: at(2) }));

        const rows = await subject!.rawRows();
        const cells = rows.flatMap((row) => Object.values(row).map(cellText));

        expect(rows).toHaveLength(4);
        for (const label of labels) {
          // The store does hold the hash (so this check is not vacuous) and never the plain token.
          expect(
            cells.some((cell) => cell.includes(hashOf(label))),
            `hash of ${label}`,
          ).toBe(true);
          expect(
            cells.filter((cell) => cell.includes(plainToken(label))),
            `plain ${label}`,
          ).toEqual([]);
        }
      });
    });

    describe('metadata', () => {
      it('round-trips JSON text exactly', async () => {
        const withMetadata = record('meta', { metadata: '{"device":"Pixel 9","tenant":"acme","nested":{"a":[1,2]}}' });
        await store.insert(withMetadata);

        expect(await store.findByHash(withMetadata.tokenHash)).toEqual(withMetadata);
      });

      it('round-trips null as null', async () => {
        await store.insert(record('no-meta', { metadata: null }));

        expect((await mustFind(store, hashOf('no-meta'))).metadata).toBeNull();
      });

      it('round-trips non-ASCII text of more than 2,000 characters', async () => {
        // Astral characters (4 bytes in UTF-8, surrogate pairs in JS) catch a 3-byte-only charset.
        const metadata = JSON.stringify({ note: 'Grüße, 東京, emoji 🔐🚀, '.repeat(100) });
        expect(metadata.length).toBeGreaterThan(2000);
        await store.insert(record('long-meta', { metadata }));

        expect((await mustFind(store, hashOf('long-meta'))).metadata).toBe(metadata);
      });

      it("stores the successor's metadata on rotate", async () => {
        const parent = record('meta-parent', { metadata: '{"tenant":"acme"}' });
        await store.insert(parent);
        const successor = successorOf(parent, 'meta-child', at(HOUR));

        expect(await store.rotate(parent.tokenHash, successor, at(HOUR))).toBe('rotated');

        expect((await mustFind(store, successor.tokenHash)).metadata).toBe('{"tenant":"acme"}');
        expect(await store.findByHash(successor.tokenHash)).toEqual(successor);
      });

      it("lists each family with its current token's metadata", async () => {
        const a0 = record('meta-a0', { familyId: 'fam-a', metadata: '{"login":"a"}' });
        const a1 = { ...successorOf(a0, 'meta-a1', at(HOUR)), metadata: '{"current":"a"}' };
        const b0 = record('meta-b0', { familyId: 'fam-b', createdAt: at(MINUTE), metadata: null });
        await insertAll(store, [a0, b0]);
        expect(await store.rotate(a0.tokenHash, a1, at(HOUR))).toBe('rotated');

        const families = await store.listFamilies('user-1', at(2 * HOUR));

        expect(families.map((f) => [f.familyId, f.metadata])).toEqual([
          ['fam-b', null],
          ['fam-a', '{"current":"a"}'],
        ]);
      });
    });

    describe('audit (jwt-refresh doctor)', () => {
      const NOW = at(2 * HOUR);
      const clean = { count: 0, sample: [] };

      it('finds nothing in a store that rotation, revocation and expiry left as they leave it', async () => {
        const a0 = record('audit-a0', { familyId: 'fam-chain', familyDeadline: at(30 * DAY) });
        const a1 = successorOf(a0, 'audit-a1', at(HOUR));
        // Rotated one second ago: inside a grace window, and still not a second current token.
        const a2 = successorOf(a1, 'audit-a2', at(2 * HOUR - 1000));
        const revoked = record('audit-revoked', { familyId: 'fam-revoked', revokedAt: at(MINUTE) });
        const expiredLive = record('audit-expired', { familyId: 'fam-expired', validUntil: at(HOUR) });
        // Expired and rotated, its successor already cleaned up: what `clear` leaves mid-way.
        const expiredRotated = record('audit-expired-rotated', {
          familyId: 'fam-expired',
          validUntil: at(HOUR),
          rotatedAt: at(30 * MINUTE),
          successorHash: hashOf('audit-cleared'),
        });
        const endedFamily = record('audit-ended', { familyId: 'fam-ended', familyDeadline: at(HOUR), validUntil: at(HOUR) });
        await insertAll(store, [a0, revoked, expiredLive, expiredRotated, endedFamily]);
        expect(await store.rotate(a0.tokenHash, a1, at(HOUR))).toBe('rotated');
        expect(await store.rotate(a1.tokenHash, a2, at(2 * HOUR - 1000))).toBe('rotated');

        expect(await store.audit(NOW)).toEqual({
          'several-current-tokens': clean,
          'missing-successor': clean,
          'live-past-family-deadline': clean,
        });
      });

      it('finds a family with two current tokens (a forked chain), naming the family only', async () => {
        const parent = record('fork-0', { familyId: 'fam-fork' });
        const winner = successorOf(parent, 'fork-1a', at(HOUR));
        // A second successor of the same parent, as a non-atomic rotation leaves one.
        const fork = successorOf(parent, 'fork-1b', at(HOUR));
        await insertAll(store, [{ ...parent, rotatedAt: at(HOUR), successorHash: winner.tokenHash }, winner, fork]);
        await insertAll(store, [record('single', { familyId: 'fam-single' })]);

        const audit = await store.audit(NOW);

        expect(audit['several-current-tokens']).toEqual({ count: 1, sample: [{ familyId: 'fam-fork', recordId: null }] });
        expect(audit['missing-successor']).toEqual(clean);
        expect(audit['live-past-family-deadline']).toEqual(clean);
      });

      it('finds two current tokens of one family at generation 0 (a login stored twice)', async () => {
        await insertAll(store, [record('twin-a', { familyId: 'fam-twin' }), record('twin-b', { familyId: 'fam-twin' })]);

        expect((await store.audit(NOW))['several-current-tokens']).toEqual({
          count: 1,
          sample: [{ familyId: 'fam-twin', recordId: null }],
        });
      });

      it('finds a rotated, still valid record whose successor is gone, by record id and never by hash', async () => {
        const orphan = record('audit-orphan', { familyId: 'fam-orphan', rotatedAt: at(HOUR), successorHash: hashOf('audit-lost') });
        await insertAll(store, [orphan]);

        const audit = await store.audit(NOW);

        expect(audit['missing-successor']).toEqual({ count: 1, sample: [{ familyId: 'fam-orphan', recordId: orphan.id }] });
        expect(audit['several-current-tokens']).toEqual(clean);
        expect(JSON.stringify(audit)).not.toContain(orphan.tokenHash);
        expect(JSON.stringify(audit)).not.toContain(hashOf('audit-lost'));
      });

      it('finds live records past their family deadline, and not revoked or rotated ones', async () => {
        const late = (label: string, overrides: Partial<RefreshTokenRecord> = {}) =>
          record(label, { familyId: `fam-${label}`, familyDeadline: at(HOUR), validUntil: at(DAY), ...overrides });
        await insertAll(store, [
          late('late-1'),
          late('late-2'),
          late('late-3'),
          late('late-revoked', { revokedAt: at(MINUTE) }),
          late('late-rotated', { rotatedAt: at(MINUTE), successorHash: hashOf('late-next') }),
          record('late-next', { familyId: 'fam-late-rotated', generation: 1, familyDeadline: at(DAY), validUntil: at(DAY) }),
        ]);

        const audit = await store.audit(NOW, { sampleSize: 2 });

        expect(audit['live-past-family-deadline'].count).toBe(3);
        expect(audit['live-past-family-deadline'].sample).toHaveLength(2);
        for (const offender of audit['live-past-family-deadline'].sample) {
          expect(['id-late-1', 'id-late-2', 'id-late-3']).toContain(offender.recordId);
          expect(offender.familyId).toBe(`fam-${offender.recordId?.slice('id-'.length)}`);
        }
        expect((await store.audit(NOW, { sampleSize: 0 }))['live-past-family-deadline']).toEqual({ count: 3, sample: [] });
      });

      it('refuses a sample size that is not a non-negative integer', async () => {
        await expect(store.audit(NOW, { sampleSize: -1 })).rejects.toThrow(RangeError);
        await expect(store.audit(NOW, { sampleSize: 1.5 })).rejects.toThrow(RangeError);
      });
    });
  });
}

function cellText(value: unknown): string {
  if (value instanceof Date) {
    return value.toISOString();
  }
  if (value instanceof Uint8Array) {
    return Buffer.from(value).toString('hex');
  }
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/**
 * `audit` of the Redis store. SCAN walks the store's family sets (matching
 * its namespace literally), a page at a time; one Lua script per batch of
 * families reads each family's records and whether each successor key exists.
 * Redis runs a script without interleaving other commands, so each family is
 * judged on one state of it: a rotation running beside the audit cannot make
 * a family look as if it had two current tokens. Memory holds one batch.
 * On Redis Cluster SCAN walks every master, and a script only reads families
 * of one user's slot (the per-user layout of redis-key-layout.ts).
 */
import { createHash } from 'node:crypto';
import { AUDIT_BATCH_SIZE, AuditTally, auditSampleSize, isCurrent, type AuditedRecord } from '../kit/audit.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import type { RedisClient } from './redis-cluster-client.js';
import type { RedisKeyLayout } from './redis-key-layout.js';
import { scanPages } from './redis-scan.js';

/** Families per script call: short enough that the script never holds Redis up for long. */
const FAMILIES_PER_SCRIPT = 100;

/**
 * KEYS: family sets of one slot. ARGV: their session prefix, then the family id of each key. Answers, per family
 * with records left, `{ familyId, {record...} }`, each record as
 * `{ id, generation, valid_until, family_deadline, rotated_at, revoked_at, has_successor, successor_exists }` with an
 * absent field as ''. Records Redis expired are skipped. Hashes stay inside the script.
 */
const AUDIT_LUA = `
local ns = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local records = {}
  -- A key that only looks like a family set (SCAN matched it) has nothing to audit.
  local members = {}
  if redis.call('TYPE', KEYS[i]).ok == 'set' then members = redis.call('SMEMBERS', KEYS[i]) end
  for _, hash in ipairs(members) do
    local f = redis.call('HMGET', ns .. 'token:' .. hash,
      'id', 'generation', 'valid_until', 'family_deadline', 'rotated_at', 'revoked_at', 'successor_hash')
    if f[1] then
      local exists = 0
      if f[7] then exists = redis.call('EXISTS', ns .. 'token:' .. f[7]) end
      records[#records + 1] = { f[1], f[2] or '0', f[3] or '0', f[4] or '', f[5] or '', f[6] or '', f[7] and '1' or '0', tostring(exists) }
    end
  end
  if #records > 0 then out[#out + 1] = { ARGV[i + 1], records } end
end
return out
`;

const COMMAND = `jwtRefresh_audit_${createHash('sha1').update(AUDIT_LUA).digest('hex').slice(0, 12)}`;

type FamilyReply = [string, string[][]];

/**
 * Audits the records a store with the key `layout` holds at `now`. `run` is the store's way of running an
 * operation (connection, deadline, StoreError); the sample size is checked before it.
 */
export async function auditRedis(
  run: <T>(work: () => Promise<T>) => Promise<T>,
  client: RedisClient,
  layout: RedisKeyLayout,
  now: Date,
  options: StoreAuditOptions | undefined,
): Promise<StoreAudit> {
  const tally = new AuditTally(now, auditSampleSize(options));
  // No fixed key count: each call passes as many family sets as it audits.
  if (typeof Reflect.get(client, COMMAND) !== 'function') client.defineCommand(COMMAND, { lua: AUDIT_LUA });
  await run(async () => {
    for await (const keys of scanPages(client, layout.pattern('family'), AUDIT_BATCH_SIZE)) {
      // SCAN may return a key more than once (while Redis rehashes): a repeat within a page is dropped; one across
      // pages, which is rare, can only count an offending family twice, never make a sound one look broken.
      // Families are grouped by session prefix: one script reads one slot.
      const bySession = new Map<string, Array<[key: string, familyId: string]>>();
      for (const key of new Set(keys)) {
        const session = layout.sessionPrefixOf(key, 'family');
        if (session === null) continue;
        const group = bySession.get(session) ?? [];
        group.push([key, key.slice(`${session}family:`.length)]);
        bySession.set(session, group);
      }
      for (const [session, families] of bySession) {
        for (let start = 0; start < families.length; start += FAMILIES_PER_SCRIPT) {
          const batch = families.slice(start, start + FAMILIES_PER_SCRIPT);
          const reply = await runScript(
            client,
            batch.map(([key]) => key),
            [session, ...batch.map(([, familyId]) => familyId)],
          );
          for (const [familyId, rows] of reply) {
            let current = 0;
            for (const row of rows) {
              const record = toAudited(familyId, row);
              tally.checkRecord(record, row[7] === '1');
              if (isCurrent(record, now)) current += 1;
            }
            tally.checkCurrentCount(familyId, current);
          }
        }
      }
    }
  });
  return tally.result();
}

async function runScript(client: RedisClient, keys: string[], args: string[]): Promise<FamilyReply[]> {
  const command: unknown = Reflect.get(client, COMMAND);
  if (typeof command !== 'function') throw new Error('the audit script is not registered on the client');
  const reply: unknown = await (command as (...commandArgs: Array<string | number>) => Promise<unknown>).apply(client, [
    keys.length,
    ...keys,
    ...args,
  ]);
  if (!Array.isArray(reply)) throw new Error('unexpected reply from the audit script');
  return reply as FamilyReply[];
}

/** A record as the script answers it. The successor hash never leaves Redis: a marker stands for it, only its presence counts. */
function toAudited(familyId: string, row: string[]): AuditedRecord {
  const instant = (value: string | undefined) => (value === undefined || value === '' ? null : new Date(Number(value)));
  return {
    id: row[0] ?? '',
    familyId,
    generation: Number(row[1]),
    validUntil: instant(row[2]) ?? new Date(0),
    familyDeadline: instant(row[3]),
    rotatedAt: instant(row[4]),
    revokedAt: instant(row[5]),
    successorHash: row[6] === '1' ? 'present' : null,
  };
}

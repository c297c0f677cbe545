/**
 * The Lua scripts of the Redis store. Every mutation that touches more than
 * one key, or reads a key before writing it, is ONE script: Redis runs a
 * script to completion before any other command, so the token hash and its
 * index entries (family set, user set, validity sorted set) never disagree,
 * and a refresh racing a revocation cannot interleave a read and a write.
 *
 * Keys the caller knows are passed as KEYS. Token, family and user keys that
 * a script only learns from stored data (the members of a family set, the
 * family of a record) are built inside it from the session prefix in ARGV:
 * the start of every session key of one user, all in one hash slot (see
 * redis-key-layout.ts), so every script touches keys of one slot and runs on
 * Redis Cluster too. The owner scripts touch one directory key each.
 *
 * Record hashes hold the SQLite store's column names as fields; a null value
 * is an absent field. Instants are unix milliseconds as decimal strings,
 * passed through untouched (Lua only converts them to compare).
 */

/**
 * One script, registered on the client with ioredis's `defineCommand`.
 *
 * @example
 * const { lua, numberOfKeys } = redisScripts.rotate;
 */
export interface RedisScript {
  /** How many leading arguments are KEYS; the rest are ARGV. */
  readonly numberOfKeys: number;
  /** The Lua source. */
  readonly lua: string;
}

/** Helpers shared by the scripts, prepended to each one. */
const PRELUDE = `
-- The server's clock: key expiry is judged by it, not by the caller's.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Keeps an index key alive at least until at_ms, never shortening the expiry
-- another member gave it: an index lives as long as its longest-lived member.
local function keep_until(key, at_ms, now)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 or (ttl >= 0 and now + ttl < at_ms) then
    redis.call('PEXPIREAT', key, at_ms)
  end
end

-- Keeps a validity index alive as long as its longest-lived member, as the
-- sets (one per user on Redis Cluster would otherwise outlive its records).
-- ttl_before is its PTTL before the write: an index that existed without an
-- expiry (-1) predates this rule and holds members it never covered, so it
-- keeps none; a new one (-2) or one with an expiry follows the rule.
local function keep_index_until(key, ttl_before, at_ms, now)
  if ttl_before ~= -1 then
    keep_until(key, at_ms, now)
  end
end

-- Writes a new record hash (field/value pairs from ARGV[first..]) with its
-- expiry, and adds it to its family set, user set and the validity index.
local function store_record(token_key, family_key, user_key, expiry_key, hash, valid_until, margin, first)
  local fields = {}
  for i = first, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  redis.call('HSET', token_key, unpack(fields))
  local now = now_ms()
  -- A record must outlive its validUntil (reuse detection needs rotated and
  -- revoked records until then); the margin leaves deleteExpired the first go.
  local expire_at = math.max(tonumber(valid_until), now) + tonumber(margin)
  redis.call('PEXPIREAT', token_key, expire_at)
  redis.call('SADD', family_key, hash)
  keep_until(family_key, expire_at, now)
  redis.call('SADD', user_key, hash)
  keep_until(user_key, expire_at, now)
  local index_ttl = redis.call('PTTL', expiry_key)
  redis.call('ZADD', expiry_key, valid_until, hash)
  keep_index_until(expiry_key, index_ttl, expire_at, now)
end

-- Whether key holds a value of the type a script expects: SCAN patterns can
-- also match keys that merely look like the ones a script was written for.
local function is_type(key, expected)
  return redis.call('TYPE', key).ok == expected
end
`;

function script(numberOfKeys: number, body: string): RedisScript {
  return { numberOfKeys, lua: `${PRELUDE}\n${body}` };
}

/**
 * Every script of the Redis store, by name. The store registers each under a
 * name that includes a digest of its source, so two versions of this package
 * sharing one client never run each other's scripts.
 *
 * @example
 * client.defineCommand('jwtRefreshRotate', redisScripts.rotate);
 */
export const redisScripts = {
  /**
   * KEYS: token, family set, user set, validity zset.
   * ARGV: hash, validUntil, retention margin, then field/value pairs.
   * Answers 'exists' (nothing written) or 'ok'.
   */
  insert: script(
    4,
    `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'exists'
end
store_record(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], 4)
return 'ok'
`,
  ),

  /**
   * KEYS: token, validity zset. ARGV: hash, validUntil, lastUsedAt, retention margin, session prefix.
   * Answers 1 when the live record was extended, 0 when there is none.
   */
  touch: script(
    2,
    `
local state = redis.call('HMGET', KEYS[1], 'token_hash', 'rotated_at', 'revoked_at', 'family_id', 'user_id')
if not state[1] or state[2] or state[3] then
  return 0
end
redis.call('HSET', KEYS[1], 'valid_until', ARGV[2], 'last_used_at', ARGV[3])
local now = now_ms()
local expire_at = math.max(tonumber(ARGV[2]), now) + tonumber(ARGV[4])
redis.call('PEXPIREAT', KEYS[1], expire_at)
keep_until(ARGV[5] .. 'family:' .. state[4], expire_at, now)
keep_until(ARGV[5] .. 'user:' .. state[5], expire_at, now)
local index_ttl = redis.call('PTTL', KEYS[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
keep_index_until(KEYS[2], index_ttl, expire_at, now)
return 1
`,
  ),

  /**
   * The compare-and-set of rotation.
   * KEYS: parent token, successor token, successor's family set, user set, validity zset.
   * ARGV: successor hash, successor validUntil, retention margin, rotatedAt, then the successor's field/value pairs.
   * Answers 'conflict' (parent gone, rotated or revoked; nothing written),
   * 'successor-exists' (nothing written) or 'rotated'.
   */
  rotate: script(
    5,
    `
local parent = redis.call('HMGET', KEYS[1], 'token_hash', 'rotated_at', 'revoked_at')
if not parent[1] or parent[2] or parent[3] then
  return 'conflict'
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'successor-exists'
end
redis.call('HSET', KEYS[1], 'rotated_at', ARGV[4], 'last_used_at', ARGV[4], 'successor_hash', ARGV[1])
store_record(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], 5)
return 'rotated'
`,
  ),

  /**
   * Revokes every not-yet-revoked record of a family or user set.
   * KEYS: the set. ARGV: session prefix, revokedAt. Answers how many changed.
   */
  revokeSet: script(
    1,
    `
local changed = 0
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local token_key = ARGV[1] .. 'token:' .. hash
  local state = redis.call('HMGET', token_key, 'token_hash', 'revoked_at')
  if not state[1] then
    -- Redis expired the record: drop its stale index entry.
    redis.call('SREM', KEYS[1], hash)
  elseif not state[2] then
    redis.call('HSET', token_key, 'revoked_at', ARGV[2])
    changed = changed + 1
  end
end
return changed
`,
  ),

  /**
   * Deletes up to batchSize records with validUntil < before, oldest first.
   * KEYS: validity zset. ARGV: session prefix, before, batchSize.
   * Answers how many index entries it removed, counting records Redis had
   * expired already, so a caller looping until 0 never stops early.
   */
  deleteExpired: script(
    1,
    `
if not is_type(KEYS[1], 'zset') then
  return 0
end
local hashes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
for _, hash in ipairs(hashes) do
  local token_key = ARGV[1] .. 'token:' .. hash
  local owner = redis.call('HMGET', token_key, 'family_id', 'user_id')
  if owner[1] then
    redis.call('SREM', ARGV[1] .. 'family:' .. owner[1], hash)
  end
  if owner[2] then
    redis.call('SREM', ARGV[1] .. 'user:' .. owner[2], hash)
  end
  redis.call('DEL', token_key)
  redis.call('ZREM', KEYS[1], hash)
end
return #hashes
`,
  ),

  /**
   * Drops validity-index entries whose record Redis expired, then counts.
   * Only entries past validUntil + margin can be gone, so only those are checked.
   * KEYS: validity zset. ARGV: session prefix, retention margin.
   * Answers { removed, records left }.
   */
  pruneValidity: script(
    1,
    `
if not is_type(KEYS[1], 'zset') then
  return { 0, 0 }
end
local horizon = now_ms() - tonumber(ARGV[2])
local removed = 0
for _, hash in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('(%d', horizon))) do
  if redis.call('EXISTS', ARGV[1] .. 'token:' .. hash) == 0 then
    redis.call('ZREM', KEYS[1], hash)
    removed = removed + 1
  end
end
return { removed, redis.call('ZCARD', KEYS[1]) }
`,
  ),

  /**
   * Drops members of a family or user set whose record Redis expired.
   * KEYS: the set. ARGV: session prefix. Answers how many it removed.
   */
  pruneSet: script(
    1,
    `
if not is_type(KEYS[1], 'set') then
  return 0
end
local removed = 0
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'token:' .. hash) == 0 then
    redis.call('SREM', KEYS[1], hash)
    removed = removed + 1
  end
end
return removed
`,
  ),

  /**
   * Records the user a token hash or a family belongs to (per-user layout), or keeps the record of that same user
   * alive at least as long as the record or family it leads to: max(validUntil, now) + margin.
   * KEYS: the owner key. ARGV: user id, validUntil, margin.
   * Answers { 'created' | 'same', '' }, or { 'other', <user id> } (nothing written) when another user owns it.
   */
  claimOwner: script(
    1,
    `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return { 'other', current }
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1])
end
local now = now_ms()
keep_until(KEYS[1], math.max(tonumber(ARGV[2]), now) + tonumber(ARGV[3]), now)
return { current and 'same' or 'created', '' }
`,
  ),

  /**
   * Hands an owner key whose user no longer has what it led to over to another user, unless it changed meanwhile.
   * KEYS: the owner key. ARGV: the stale user id, the new user id, validUntil, margin. Answers 1 when it took over.
   */
  takeOverOwner: script(
    1,
    `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', math.max(tonumber(ARGV[3]), now_ms()) + tonumber(ARGV[4]))
return 1
`,
  ),

  /** Deletes an owner key this store just created for nothing. KEYS: the owner key. ARGV: user id. Answers 1 when deleted. */
  releaseOwner: script(
    1,
    `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
  ),

  /**
   * Blocks a jti until expiresAt; a later expiry wins.
   * KEYS: blocklist entry. ARGV: expiresAt, clock-skew margin. Answers 1 when it wrote.
   */
  blockAccessToken: script(
    1,
    `
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], math.max(tonumber(ARGV[1]), now_ms()) + tonumber(ARGV[2]))
return 1
`,
  ),

  /** KEYS: watermark. ARGV: at. Moves the watermark forward only; answers 1 when it moved. */
  setRevokedBefore: script(
    1,
    `
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`,
  ),

  /**
   * Deletes a watermark older than the cutoff; checked and deleted in one step, so a
   * setRevokedBefore racing the purge is never lost. KEYS: watermark. ARGV: cutoff (ms).
   * Answers 1 when it deleted.
   */
  purgeWatermark: script(
    1,
    `
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) < tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`,
  ),

  /**
   * One hit in a fixed window. KEYS: the window's counter. ARGV: resetAt, clock-skew margin.
   * Answers the count including this hit.
   */
  hitRateLimit: script(
    1,
    `
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIREAT', KEYS[1], math.max(tonumber(ARGV[1]), now_ms()) + tonumber(ARGV[2]))
end
return count
`,
  ),
} satisfies Record<string, RedisScript>;

/**
 * Name of a script of {@link redisScripts}.
 *
 * @example
 * const name: RedisScriptName = 'rotate';
 */
export type RedisScriptName = keyof typeof redisScripts;

/**
 * Where the Redis store's keys live, and so which keys one Lua script may
 * touch together: on Redis Cluster a script may only touch keys of one hash
 * slot, which the part of a key between the first `{` and the next `}` (its
 * hash tag) decides when there is one.
 *
 * Both layouts name a user's session keys `<session prefix><kind>` and the
 * scripts build every key from that prefix, so the scripts are the same:
 *
 * | key | single-slot (`ns` = `${keyPrefix}${tableName}:`) | per-user |
 * | --- | --- | --- |
 * | record | `ns token:<hash>` | `ns{u:<userId>}:token:<hash>` |
 * | family set | `ns family:<familyId>` | `ns{u:<userId>}:family:<familyId>` |
 * | user set | `ns user:<userId>` | `ns{u:<userId>}:user:<userId>` |
 * | validity index | `ns expiry` (one for the store) | `ns{u:<userId>}:expiry` (one per user) |
 * | token → user | none | `ns owner:<hash>` (its own slot) |
 * | family → user | none | `ns family-owner:<familyId>` (its own slot) |
 *
 * Blocklist entries, watermarks and rate-limit windows are one key per
 * script in both (`ns blocked:<jti>`, `ns revoked-before:<userId>`, `ns rl:<key>:<window>`).
 *
 * single-slot is the layout of one Redis server, unchanged since the store's first release so that existing data stays
 * where it was, and of a cluster whose `keyPrefix` holds a hash tag (every key then in that tag's slot, as the store
 * documented before it spread over a cluster). per-user is the layout on a cluster otherwise: a user's keys share the
 * slot of `{u:<userId>}`, so rotation, revoking a family and revoking a user stay single scripts, and users spread
 * over the masters.
 */
import { ConfigError } from '../../errors.js';

/** Which layout; see the table above. */
export type RedisKeyLayoutKind = 'single-slot' | 'per-user';

/** The kinds of session key SCAN looks for. */
export type SessionKeyKind = 'expiry' | 'family' | 'user';

/**
 * How one store names its keys.
 *
 * @example
 * const layout = redisKeyLayout('jwt-refresh:refresh_tokens:', true);
 * layout.sessionPrefix('alice'); // 'jwt-refresh:refresh_tokens:{u:alice}:'
 */
export interface RedisKeyLayout {
  readonly kind: RedisKeyLayoutKind;
  /** `${keyPrefix}${tableName}:`, the start of every key. */
  readonly namespace: string;
  /** Start of every session key of `userId`; these keys all share one slot. */
  sessionPrefix(userId: string): string;
  /** The key naming the owner (user) of a token hash; per-user only. */
  tokenOwnerKey(tokenHash: string): string;
  /** The key naming the owner (user) of a family; per-user only. */
  familyOwnerKey(familyId: string): string;
  /** A SCAN MATCH pattern for the session keys of `kind` (glob characters of the namespace escaped). */
  pattern(kind: SessionKeyKind): string;
  /** The session prefix of a key that {@link pattern} matched, or null for a key that only looks like one. */
  sessionPrefixOf(key: string, kind: SessionKeyKind): string | null;
}

/**
 * The layout of a store on `namespace`: per-user on a cluster unless the namespace pins every key to one slot.
 *
 * @throws ConfigError on a cluster when the namespace holds `{}`: Redis would then hash each whole key, scattering the
 * keys a script must touch together.
 */
export function redisKeyLayout(namespace: string, cluster: boolean): RedisKeyLayout {
  if (!cluster) return singleSlot(namespace);
  const open = namespace.indexOf('{');
  const close = open === -1 ? -1 : namespace.indexOf('}', open + 1);
  if (close === open + 1) {
    throw new ConfigError(
      'stores.redis.keyPrefix: expected no empty hash tag `{}` on Redis Cluster (it would scatter the keys a script touches together)',
    );
  }
  // A whole hash tag in the prefix: every key of the store in that tag's slot, as before per-user keys existed.
  return close === -1 ? perUser(namespace) : singleSlot(namespace);
}

function singleSlot(namespace: string): RedisKeyLayout {
  const escaped = escapeGlob(namespace);
  return {
    kind: 'single-slot',
    namespace,
    sessionPrefix: () => namespace,
    tokenOwnerKey: () => {
      throw new Error('the single-slot layout has no owner keys');
    },
    familyOwnerKey: () => {
      throw new Error('the single-slot layout has no owner keys');
    },
    pattern: (kind) => (kind === 'expiry' ? `${escaped}expiry` : `${escaped}${kind}:*`),
    sessionPrefixOf: (key, kind) => (key.startsWith(`${namespace}${kind}`) ? namespace : null),
  };
}

function perUser(namespace: string): RedisKeyLayout {
  const escaped = escapeGlob(namespace);
  const head = `${namespace}{u:`;
  const prefix = (userId: string) => `${head}${userId}}:`;
  return {
    kind: 'per-user',
    namespace,
    sessionPrefix: prefix,
    tokenOwnerKey: (tokenHash) => `${namespace}owner:${tokenHash}`,
    familyOwnerKey: (familyId) => `${namespace}family-owner:${familyId}`,
    pattern: (kind) => (kind === 'expiry' ? `${escaped}{u:*}:expiry` : `${escaped}{u:*}:${kind}:*`),
    sessionPrefixOf: (key, kind) => {
      if (!key.startsWith(head)) return null;
      const rest = key.slice(head.length);
      if (kind === 'expiry') return rest.endsWith('}:expiry') ? key.slice(0, -'expiry'.length) : null;
      if (kind === 'family') {
        // Family ids come from the core (no `}:family:` in them); a user id may hold anything, so the last one counts.
        const at = rest.lastIndexOf('}:family:');
        return at === -1 ? null : `${head}${rest.slice(0, at)}}:`;
      }
      // `<userId>}:user:<userId>`: the same id twice around a fixed middle.
      const length = (rest.length - '}:user:'.length) / 2;
      const userId = rest.slice(0, length);
      return Number.isInteger(length) && length >= 0 && rest === `${userId}}:user:${userId}` ? prefix(userId) : null;
    },
  };
}

/**
 * `text` with the glob syntax of SCAN MATCH (`* ? [ ] \`) escaped, so a prefix holding them matches literally.
 *
 * @example
 * escapeGlob('app*:'); // 'app\\*:'
 */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

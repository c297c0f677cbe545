import type { Command } from 'commander';
import type { JwtRefreshConfig } from '../config/schema.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { createTokenHasher } from '../tokens/hash-token.js';
import { FAMILY_WATERMARK_PREFIX } from '../tokens/revoke-family.js';
import { addStoreOptions, resolveCliSettings, type StoreOptions, USAGE_ERROR, withStore } from './cli-settings.js';
import { readStdinLine } from './read-stdin.js';

interface RevokeOptions extends StoreOptions {
  user?: string;
  family?: string;
}

/**
 * `jwt-refresh revoke TOKEN | --user ID | --family ID` (SPEC §10, the bundle's
 * `gesdinet:jwt:revoke`, plus **beyond**: a whole user or one session).
 * Revoking ends the session's (or user's) access tokens too, through the
 * watermarks the server checks, as a logout on the server does.
 */
export function registerRevoke(program: Command): void {
  addStoreOptions(
    program
      .command('revoke')
      .description('revoke a refresh token (its whole session), every session of a user, or one session')
      .argument('[token]', 'the refresh token; "-" reads it from stdin (keeps it out of ps and shell history)')
      .option('--user <id>', "revoke every session of this user id and end the user's access tokens (log out everywhere)")
      .option('--family <id>', 'revoke one session (token family) by its id, as listed by `sessions`'),
  ).action(async (token: string | undefined, options: RevokeOptions, command: Command) => {
    const given = [token, options.user, options.family].filter((value) => value !== undefined).length;
    if (given !== 1) {
      command.error('error: give exactly one of TOKEN, --user ID and --family ID', USAGE_ERROR);
    }
    let plainToken = token;
    if (plainToken === '-') plainToken = await readStdinLine();
    if (plainToken !== undefined && plainToken.trim() === '') command.error('error: the refresh token is empty', USAGE_ERROR);
    if (options.user === '' || options.family === '') command.error('error: the id is empty', USAGE_ERROR);

    const settings = resolveCliSettings(options, process.env);
    await withStore(settings, options, async (store) => {
      const now = new Date();
      if (plainToken !== undefined) {
        await revokeToken(store, settings.config, plainToken.trim(), now);
      } else if (options.user !== undefined) {
        const count = await revokeUser(store, settings.config, options.user, now);
        process.stdout.write(`Revoked ${count} refresh token(s) of user ${options.user}\n`);
      } else if (options.family !== undefined) {
        const count = await revokeFamily(store, options.family, now);
        if (count === 0) {
          // Nothing live to revoke: a typo, or a session a logout already ended (and watermarked).
          process.stderr.write(`Session ${options.family} does not exist or is already revoked\n`);
          process.exitCode = 1;
        } else {
          process.stdout.write(`Revoked ${count} refresh token(s) of session ${options.family}\n`);
        }
      }
    });
  });
}

/** Revokes the token's whole family, as the bundle's revoke removes the token; never prints the token. */
async function revokeToken(store: RefreshTokenStore, config: JwtRefreshConfig, token: string, now: Date): Promise<void> {
  // Hashed exactly as the server does, or nothing would ever be found.
  const record = await store.findByHash(createTokenHasher(config.pepper)(token));
  if (record === null) {
    process.stderr.write('Refresh token does not exist\n');
    process.exitCode = 1;
    return;
  }
  // A single revoked token would leave its rotated successors alive; the session is the unit.
  await revokeFamily(store, record.familyId, now);
  process.stdout.write('Revoked refresh token\n');
}

/** Revokes a family and refuses the access tokens minted for it (their `sid` names it). */
async function revokeFamily(store: RefreshTokenStore, familyId: string, now: Date): Promise<number> {
  const count = await store.revokeFamily(familyId, now);
  // No record changed: no access token of a live session to end, so no watermark to keep forever.
  if (count > 0) await store.setRevokedBefore(`${FAMILY_WATERMARK_PREFIX}${familyId}`, now);
  return count;
}

/**
 * "Log out everywhere" for `userId`: revokes every family and moves the
 * user's watermark to now. Access tokens name the user by `sub` (the stable
 * id) by default; when the config puts the identifier there instead, the
 * watermark goes on the identifiers the user's live sessions were issued to.
 */
async function revokeUser(store: RefreshTokenStore, config: JwtRefreshConfig, userId: string, now: Date): Promise<number> {
  const keys = new Set<string>();
  if (config.jwt.setSubject && config.jwt.userIdClaim !== 'sub') {
    keys.add(userId);
  } else {
    for (const family of await store.listFamilies(userId, now)) keys.add(family.userIdentifier);
  }
  const count = await store.revokeUser(userId, now);
  for (const key of keys) await store.setRevokedBefore(key, now);
  return count;
}

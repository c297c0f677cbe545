import type { Command } from 'commander';
import { findPresentedToken } from '../sessions/find-presented-token.js';
import { revokeAllSessions } from '../sessions/revoke-all-sessions.js';
import { revokeSession } from '../sessions/revoke-session.js';
import type { OperatorContext } from '../sessions/session-context.js';
import { addStoreOptions, resolveCliSettings, type StoreOptions, USAGE_ERROR, withStore } from './cli-settings.js';
import { operatorContext } from './operator-context.js';
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
      const ctx = operatorContext(settings.config, store);
      if (plainToken !== undefined) {
        await revokeToken(ctx, plainToken.trim());
      } else if (options.user !== undefined) {
        const count = await revokeAllSessions(ctx, options.user);
        process.stdout.write(`Revoked ${count} refresh token(s) of user ${options.user}\n`);
      } else if (options.family !== undefined) {
        const count = await revokeSession(ctx, null, options.family);
        if (count > 0) {
          process.stdout.write(`Revoked ${count} refresh token(s) of session ${options.family}\n`);
        } else {
          // Nothing live to revoke: a typo, or a session a logout already ended (and watermarked).
          process.stderr.write(`Session ${options.family} does not exist or is already revoked\n`);
          process.exitCode = 1;
        }
      }
    });
  });
}

/**
 * Revokes the token's whole session, as a logout does (a single revoked token
 * would leave its rotated successors alive); never prints the token.
 */
async function revokeToken(ctx: OperatorContext, token: string): Promise<void> {
  const record = await findPresentedToken(ctx, token);
  if (record === null) {
    process.stderr.write('Refresh token does not exist\n');
    process.exitCode = 1;
    return;
  }
  await revokeSession(ctx, null, record.familyId);
  process.stdout.write('Revoked refresh token\n');
}

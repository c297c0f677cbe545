import type { Command } from 'commander';
import { listSessions, type SessionSummary } from '../sessions/list-sessions.js';
import { addStoreOptions, resolveCliSettings, type StoreOptions, withStore } from './cli-settings.js';
import { operatorContext } from './operator-context.js';

interface SessionsOptions extends StoreOptions {
  user: string;
  json: boolean;
}

/** Longest user agent shown in the table; `--json` has it whole. */
const MAX_USER_AGENT_CHARS = 60;

/**
 * `jwt-refresh sessions --user ID [--json]` (SPEC §10, **beyond**): the
 * user's live sessions (token families), newest first, as an aligned table
 * or JSON. A session id is what `revoke --family` takes.
 */
export function registerSessions(program: Command): void {
  addStoreOptions(
    program
      .command('sessions')
      .description("list a user's live sessions (token families), newest first")
      .requiredOption('--user <id>', 'the user id (the stable id stored with the tokens)')
      .option('--json', 'print JSON instead of a table', false),
  ).action(async (options: SessionsOptions) => {
    const settings = resolveCliSettings(options, process.env);
    const sessions = await withStore(settings, options, (store) => listSessions(operatorContext(settings.config, store), options.user));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(sessions.map(toJson), null, 2)}\n`);
    } else if (sessions.length === 0) {
      process.stdout.write('No sessions\n');
    } else {
      process.stdout.write(formatTable(sessions));
    }
  });
}

function toJson(session: SessionSummary): Record<string, unknown> {
  return {
    sessionId: session.sessionId,
    userId: session.userId,
    userIdentifier: session.userIdentifier,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt?.toISOString() ?? null,
    expiresAt: session.expiresAt.toISOString(),
    familyDeadline: session.familyDeadline?.toISOString() ?? null,
    userAgent: session.userAgent,
    ip: session.ip,
    metadata: session.metadata,
  };
}

function formatTable(sessions: SessionSummary[]): string {
  const header = ['SESSION', 'CREATED', 'LAST USED', 'EXPIRES', 'USER AGENT', 'IP'];
  const rows = [
    header,
    ...sessions.map((session) => [
      session.sessionId,
      formatDate(session.createdAt),
      session.lastUsedAt === null ? '-' : formatDate(session.lastUsedAt),
      formatDate(session.expiresAt),
      session.userAgent === null ? '-' : truncate(printable(session.userAgent), MAX_USER_AGENT_CHARS),
      session.ip === null ? '-' : printable(session.ip),
    ]),
  ];
  const widths = header.map((_, column) => Math.max(...rows.map((row) => [...(row[column] ?? '')].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat((widths[column] ?? 0) - [...cell].length)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** UTC, to the second: `2026-01-31 09:05:00Z`. */
function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/**
 * The user agent and IP come from clients: control characters (an escape
 * sequence could rewrite the operator's terminal) are shown as `?`.
 */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

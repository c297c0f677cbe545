import { StoreError } from './errors.js';

/**
 * Where jwt-refresh writes what operators need to know. The shape is pino's
 * (fields first, then the message), so a pino logger, Fastify's `request.log`
 * or `app.log` can be passed as is.
 *
 * @example
 * import pino from 'pino';
 * const jwtRefresh = await createJwtRefresh({ ..., logger: pino() });
 */
export interface Logger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** The levels of {@link createJsonLogger}, least severe first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * The default logger: one JSON line per entry on stderr (`level`, `time`,
 * `msg`, then the fields), at `level` and above.
 *
 * @example
 * const logger = createJsonLogger('warn');
 */
export function createJsonLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = LEVELS.indexOf(level);
  const at =
    (entryLevel: LogLevel) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (LEVELS.indexOf(entryLevel) < threshold) return;
      write(`${JSON.stringify({ level: entryLevel, time: Date.now(), msg: message, ...fields })}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A request target (`req.url`) as a log line may carry it: the path only. The
 * query string and a fragment may hold a token, and the userinfo of an
 * absolute-form target (`http://user:password@host/...`) a password.
 *
 * @example
 * loggableRequestTarget('http://a:b@host/api/token/refresh?refresh_token=x#y'); // 'http://host/api/token/refresh'
 */
export function loggableRequestTarget(target: string): string {
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  return path.replace(/^([a-z][a-z\d+.-]*:\/\/)[^/]*@/i, '$1');
}

/** How deep a cause chain is followed; a cycle or a long chain stops here. */
const MAX_CAUSE_DEPTH = 4;

/**
 * An error as a log field, under the redaction rules: a {@link StoreError}
 * keeps only its store, its operation and the driver's error code (a driver
 * message may quote SQL holding a token hash); anything else (thrown by a user provider,
 * a listener, a hasher: the application's own code) keeps its name, code,
 * message and cause chain, which is what its author needs to fix it.
 * Messages of jwt-refresh's own errors never hold a token (src/errors.ts).
 *
 * @example
 * logger.error({ error: describeError(error) }, 'jwt-refresh request failed');
 */
export function describeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  if (error instanceof StoreError) {
    // Which store, which operation, and the driver's code: what an operator needs, and nothing that may quote SQL or values.
    const driverCode = error.driverCode ?? (error.cause as { code?: unknown } | undefined)?.code;
    return {
      name: error.name,
      code,
      message: error.message,
      ...(error.store === undefined ? {} : { store: error.store }),
      operation: error.operation,
      ...(isPrintableCode(driverCode) ? { driverCode } : {}),
    };
  }
  const described: Record<string, unknown> = { name: error.name, message: error.message };
  if (isPrintableCode(code)) described.code = code;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) described.cause = describeError(error.cause, depth + 1);
  return described;
}

function isPrintableCode(code: unknown): code is string | number {
  return typeof code === 'string' || typeof code === 'number';
}

/**
 * Which driver errors mean "the store is unavailable": the server cannot be reached, dropped the connection, is
 * shutting down or starting, or did not answer in time. Retrying later may cure those, so the edge answers 503 with
 * `Retry-After` rather than 500. Everything else (a constraint, a syntax error, a missing table) is a plain StoreError.
 *
 * Only codes and error class names are read; a message is matched only where the driver gives nothing else
 * (ioredis, pg's client-side failures), and none is ever copied into what is logged.
 */
import { errorProperty } from './error-property.js';

/** Node's socket-level errnos: refused, reset, timed out, unreachable, name not resolved (yet). */
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception) by prefix, then 53300 too_many_connections, 57014
 * query_canceled (statement_timeout), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 57P05
 * idle_session_timeout.
 */
const POSTGRES_STATES = new Set(['53300', '57014', '57P01', '57P02', '57P03', '57P05']);

/**
 * mysql2's codes for a lost or timed-out connection, and server errors of the same kind: too many connections,
 * shutdown in progress, lock wait timeout (after the store's retries), a connection or query killed.
 */
const MYSQL_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
  'ER_STATEMENT_TIMEOUT',
  'ER_QUERY_TIMEOUT',
]);

/** Redis reply prefixes of a server that is loading, busy, read-only after a failover, out of memory, or has no quorum. */
const REDIS_REPLY_PREFIXES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'READONLY', 'OOM', 'NOREPLICAS']);

/** The MongoDB driver's classes for an unreachable, lost or timed-out server. */
const MONGO_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoOperationTimeoutError',
]);

/**
 * MongoDB server codes: HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress, PrimarySteppedDown,
 * ExceededTimeLimit, SocketException, NotWritablePrimary, InterruptedAtShutdown, NotPrimaryNoSecondaryOk,
 * NotPrimaryOrSecondary, MaxTimeMSExpired.
 */
const MONGO_SERVER_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 13435, 13436, 50]);

/**
 * Messages of client-side failures that carry no code, mapped to the code the log line shows. ioredis: a command on a
 * closed or not-yet-ready connection, `commandTimeout`. pg: pool and connection timeouts, a connection that dropped.
 * mysql2: a command on a connection that closed.
 */
const UNCODED_MESSAGES: ReadonlyArray<[RegExp, string]> = [
  [/^Connection is closed\.?$/, 'CONNECTION_CLOSED'],
  [/^Stream isn't writeable/, 'NOT_CONNECTED'],
  [/^Command timed out/, 'COMMAND_TIMEOUT'],
  [/^timeout exceeded when trying to connect/, 'POOL_TIMEOUT'],
  [/^Connection terminated due to connection timeout/, 'CONNECT_TIMEOUT'],
  [/^Connection terminated/, 'CONNECTION_TERMINATED'],
  [/^Query read timeout/, 'QUERY_TIMEOUT'],
  [/^Client has encountered a connection error/, 'CONNECTION_ERROR'],
  [/^Can't add new command when connection is in closed state/, 'CONNECTION_CLOSED'],
];

/**
 * The code naming why `error` means the store is unavailable (an errno, a SQLSTATE, a driver code, a Redis reply
 * prefix, a MongoDB error class), or null when it does not. Follows `cause` and AggregateError's `errors` a few
 * levels deep, since drivers wrap socket errors (ioredis's MaxRetriesPerRequestError, Node's `connect` of several
 * addresses).
 *
 * @example
 * unavailableCode(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })); // 'ECONNREFUSED'
 */
export function unavailableCode(error: unknown, depth = 0): string | null {
  if (typeof error !== 'object' || error === null || depth > 3) return null;
  const own = ownCode(error);
  if (own !== null) return own;
  for (const inner of [errorProperty(error, 'cause'), ...arrayProperty(error, 'errors')]) {
    const found = unavailableCode(inner, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

function ownCode(error: object): string | null {
  const code = errorProperty(error, 'code');
  const name = errorProperty(error, 'name');
  const message = errorProperty(error, 'message');
  if (typeof code === 'string') {
    if (NETWORK_ERRNOS.has(code) || MYSQL_CODES.has(code) || POSTGRES_STATES.has(code)) return code;
    if (/^08[0-9A-Z]{3}$/.test(code)) return code;
    // SQLite: another connection held the lock past busy_timeout (a checkpoint, another process); the next try may work.
    if (/^SQLITE_(BUSY|LOCKED)(_[A-Z]+)?$/.test(code)) return code;
  }
  if (name === 'MaxRetriesPerRequestError') return 'MAX_RETRIES_PER_REQUEST';
  if (typeof name === 'string' && MONGO_ERROR_NAMES.has(name)) return name;
  if (typeof code === 'number' && typeof name === 'string' && name.startsWith('Mongo') && MONGO_SERVER_CODES.has(code)) {
    return `MONGO_${code}`;
  }
  // A fatal mysql2 error ended its connection: whatever the code, the next connection may work.
  if (errorProperty(error, 'fatal') === true && typeof code === 'string') return code;
  if (typeof message === 'string') {
    if (name === 'ReplyError') {
      const prefix = /^([A-Z]+)\s/.exec(message)?.[1];
      if (prefix !== undefined && REDIS_REPLY_PREFIXES.has(prefix)) return prefix;
    }
    for (const [pattern, label] of UNCODED_MESSAGES) if (pattern.test(message)) return label;
  }
  return null;
}

function arrayProperty(error: object, property: string): unknown[] {
  const value = errorProperty(error, property);
  return Array.isArray(value) ? value : [];
}

/**
 * The driver's code of an error that is not an outage, for the log line: a string or number `code` (SQLSTATE, errno
 * name, MongoDB code), mysql2's `errno`, or a Redis reply's prefix; undefined when there is none.
 */
export function driverCodeOf(error: unknown): string | number | undefined {
  const code = errorProperty(error, 'code');
  if (typeof code === 'string' || typeof code === 'number') return code;
  const errno = errorProperty(error, 'errno');
  if (typeof errno === 'number') return errno;
  const message = errorProperty(error, 'message');
  if (errorProperty(error, 'name') === 'ReplyError' && typeof message === 'string') return /^([A-Z]+)\s/.exec(message)?.[1];
  return undefined;
}

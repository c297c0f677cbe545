/**
 * An in-process MongoDB wire-protocol server for tests: `CongoServer` from
 * `@push.rocks/smartmongo`, which the official `mongodb` driver talks to over
 * a real socket. No `mongod` can be installed on this project's machines
 * (ENVIRONMENT.md), so the MongoDB store's tests run against this unless
 * `MONGODB_URL` names a real server.
 *
 * What CongoServer does NOT do (ENVIRONMENT.md, and read in its source):
 * it enforces no unique index except `_id`, never purges by TTL, accepts
 * only ObjectId `_id`s, and does not speak the driver's streaming monitor
 * protocol (hence `serverMonitoringMode=poll` in the URL). Tests that depend
 * on those say so.
 *
 * @example
 * const congo = await startCongoServer();
 * const client = new MongoClient(congo.url);
 * // ...
 * await congo.stop();
 */
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';
import { freePort } from './spawn-server.js';

/** A running CongoServer and the URL to reach it with the official driver. */
export interface RunningCongoServer {
  /** `mongodb://127.0.0.1:<port>/?directConnection=true&serverMonitoringMode=poll`. */
  readonly url: string;
  /** Open driver connections, as the server counts them. */
  connectionCount(): number;
  /** Closes every connection and the listening socket. */
  stop(): Promise<void>;
}

/**
 * Starts a CongoServer with in-memory storage on a free loopback port.
 * A port grabbed by another process between the probe and the listen is
 * retried a few times rather than failing the run.
 *
 * @example
 * const congo = await startCongoServer();
 * afterAll(() => congo.stop());
 */
export async function startCongoServer(): Promise<RunningCongoServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const server = new CongoServer({ port, host: '127.0.0.1' });
    try {
      await server.start();
    } catch (error) {
      lastError = error;
      continue;
    }
    return {
      // directConnection: Congo answers `hello` as a standalone without a host list.
      // serverMonitoringMode=poll: Congo's `hello` carries a topologyVersion, so the driver's
      // monitor would switch to the streaming protocol (exhaust, moreToCome), which Congo does
      // not speak: the second heartbeat fails with "Server ended moreToCome unexpectedly" and
      // the driver clears the pool under the running operations.
      url: `mongodb://127.0.0.1:${port}/?directConnection=true&serverMonitoringMode=poll`,
      connectionCount: () => server.getConnectionCount(),
      stop: () => server.stop(),
    };
  }
  throw new Error('could not start the in-process CongoServer on a free loopback port', { cause: lastError });
}

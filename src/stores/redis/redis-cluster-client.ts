/**
 * The two kinds of ioredis client the Redis store works with, a single
 * server's (`Redis`) and a Redis Cluster's (`Cluster`), and the cluster
 * connection the store opens itself from a list of node URLs.
 */
import { Cluster, type Redis } from 'ioredis';
import { ConfigError } from '../../errors.js';

/** A client of one Redis server or of a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Longest pause between two reconnection attempts, as for the store's own single-server client. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * Whether `client` talks to a Redis Cluster (ioredis marks its Cluster instances).
 *
 * @example
 * isClusterClient(new Cluster([{ host: '10.0.0.1', port: 6379 }])); // true
 */
export function isClusterClient(client: RedisClient): client is Cluster {
  return (client as Partial<Cluster>).isCluster === true;
}

/**
 * The cluster connection the store opens on `urls` (some of the cluster's nodes, `redis://[user:password@]host:port`,
 * `rediss://` for TLS; ioredis discovers the others), failing fast rather than queueing, for the reasons given at the
 * store's single-server client: connect and command timeouts at `timeoutMs`, no command sent again after a reconnection.
 *
 * @example
 * const client = openClusterClient(['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379'], 3000);
 */
export function openClusterClient(urls: readonly string[], timeoutMs: number): Cluster {
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new ConfigError('stores.redis.cluster: expected a non-empty list of node URLs (redis://host:port)');
  }
  const nodes = urls.map((url, index) => parseNode(url, index));
  const first = nodes[0];
  const client = new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      clusterRetryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
      redisOptions: {
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        ...(first?.username === undefined ? {} : { username: first.username }),
        ...(first?.password === undefined ? {} : { password: first.password }),
        ...(first?.tls === true ? { tls: {} } : {}),
      },
    },
  );
  // As for the single-server client: failures reach callers on the calls themselves.
  client.on('error', () => {});
  return client;
}

interface ClusterNodeUrl {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

function parseNode(url: unknown, index: number): ClusterNodeUrl {
  const refuse = () => new ConfigError(`stores.redis.cluster[${index}]: expected a node URL such as redis://10.0.0.1:6379`);
  if (typeof url !== 'string') throw refuse();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse();
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') throw refuse();
  return {
    // A bracketed IPv6 literal loses its brackets for the socket.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    tls: parsed.protocol === 'rediss:',
  };
}

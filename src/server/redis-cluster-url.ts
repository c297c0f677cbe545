import { ConfigError } from '../errors.js';

/** What a refused cluster URL gets told; it never quotes the URL, which may hold a password. */
const EXPECTED =
  'DATABASE_URL: expected a Redis Cluster URL such as redis+cluster://host:port,host:port ' +
  '(user:password@ before the first host, rediss+cluster:// for TLS), with no database number nor query';

/**
 * The node URLs of a `redis+cluster://` (or TLS `rediss+cluster://`) `DATABASE_URL`, as the Redis store's `cluster`
 * option takes them: `redis+cluster://[user:password@]host1:port1,host2:port2[/]`, the credentials written once and
 * given to every node, a missing port 6379. A comma list of hosts, as libpq's multi-host URLs, because WHATWG URL
 * parsing refuses one in a `redis://` URL's authority, and a scheme of its own keeps `redis://` meaning one server.
 * A path (a database number: a cluster has only database 0) or a query is refused rather than ignored.
 *
 * @throws ConfigError when the URL is not of that form
 *
 * @example
 * redisClusterNodes('redis+cluster://:secret@10.0.0.1:7000,10.0.0.2'); // ['redis://:secret@10.0.0.1:7000', 'redis://:secret@10.0.0.2:6379']
 */
export function redisClusterNodes(databaseUrl: string): string[] {
  const match = /^(rediss?)\+cluster:\/\/([^/?#]*)\/?$/i.exec(databaseUrl);
  if (match === null) throw new ConfigError(EXPECTED);
  const [, scheme = '', authority = ''] = match;
  const protocol = `${scheme.toLowerCase()}:`;
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at + 1);
  const hosts = authority.slice(at + 1).split(',');
  return hosts.map((host) => {
    let node: URL;
    try {
      node = new URL(`${protocol}//${userinfo}${host}`);
    } catch {
      throw new ConfigError(EXPECTED);
    }
    if (host === '' || node.hostname === '' || node.pathname !== '' || node.search !== '') throw new ConfigError(EXPECTED);
    return `${protocol}//${userinfo}${node.host}${node.port === '' ? ':6379' : ''}`;
  });
}

/**
 * SCAN over the whole keyspace of a store's Redis: a single server's, or
 * every master's of a Redis Cluster (each master holds the keys of its slots;
 * SCAN on a cluster client would walk one node, picked at random).
 */
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { isClusterClient, type RedisClient } from './redis-cluster-client.js';

/**
 * The keys matching `pattern`, a SCAN page at a time (`count` a hint of its size). A key may come twice, as SCAN
 * promises only that every key present throughout the walk comes at least once.
 *
 * @example
 * for await (const page of scanPages(client, 'jwt-refresh:refresh_tokens:revoked-before:*', 500)) console.log(page.length);
 */
export async function* scanPages(client: RedisClient, pattern: string, count: number): AsyncGenerator<string[]> {
  for (const node of await masters(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** The servers to walk: the client's own, or a cluster's masters once it knows them (the caller's deadline bounds the wait). */
async function masters(client: RedisClient): Promise<Redis[]> {
  if (!isClusterClient(client)) return [client];
  if (client.status !== 'ready') await once(client, 'ready');
  return client.nodes('master');
}

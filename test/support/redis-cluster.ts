/**
 * A Redis Cluster of the test's own on loopback: `masters` redis-server
 * processes with cluster mode on, each on a free port with its cluster config
 * in a temp directory, joined by `redis-cli --cluster create` with no
 * replicas. {@link RunningRedisCluster.stop} kills them and removes the directory.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './spawn-server.js';

const INSTALL_HINT = 'Install them with `apt-get update && apt-get install -y redis-server` (.ci/run does).';
/** A node's cluster bus listens on its port + 10000. */
const BUS_OFFSET = 10_000;

export interface RunningRedisCluster {
  /** `redis://127.0.0.1:<port>` of every master. */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

/** Starts the nodes, creates the cluster and waits until every node reports `cluster_state:ok`. */
export async function startRedisCluster(masters = 3): Promise<RunningRedisCluster> {
  for (const binary of ['redis-server', 'redis-cli']) {
    if (spawnSync(binary, ['--version']).status !== 0) throw new Error(`${binary} is not on PATH. ${INSTALL_HINT}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const children: ChildProcess[] = [];
  let output = '';
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await clusterPorts(masters);
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)],
          ...['--save', '', '--appendonly', 'no'],
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      children.push(child);
    }
    await Promise.all(
      ports.map((port) =>
        until(
          () => answers(port, 'PING', 'PONG'),
          `node ${port} did not start`,
          () => output,
        ),
      ),
    );
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    await Promise.all(
      ports.map((port) =>
        until(
          () => answers(port, 'CLUSTER INFO', 'cluster_state:ok'),
          `node ${port} never reported cluster_state:ok`,
          () => output,
        ),
      ),
    );
    return { nodes: ports.map((port) => `redis://127.0.0.1:${port}`), ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Free ports whose cluster bus port (+10000) is free too. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (port + BUS_OFFSET <= 65_535 && !ports.includes(port) && (await isFree(port + BUS_OFFSET))) ports.push(port);
  }
  return ports;
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Whether the node on `port` answers `command` with a reply containing `expected`. */
async function answers(port: number, command: string, expected: string): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    const [name, ...args] = command.split(' ');
    const reply: unknown = await client.call(name ?? 'PING', ...args);
    return String(reply).includes(expected);
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function until(check: () => Promise<boolean>, failure: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${failure}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

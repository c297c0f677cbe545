/**
 * A PgBouncer of the test's own, in transaction pooling mode, in front of the
 * loopback PostgreSQL: started on a free port from a config file in a temp
 * directory, stopped (and the directory removed) by {@link RunningPgBouncer.stop}.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './spawn-server.js';

/** Debian's binary; `PGBOUNCER` points elsewhere. */
const PGBOUNCER = process.env.PGBOUNCER ?? '/usr/sbin/pgbouncer';
const INSTALL_HINT = 'Install it with `apt-get update && apt-get install -y pgbouncer` (.ci/run does), or set PGBOUNCER to its path.';

export interface PgBouncerOptions {
  /** The PostgreSQL behind it. */
  upstream: { host: string; port: number; database: string; user: string };
  /** Server connections per database/user pair: fewer than a store's pool, so clients really share them. */
  poolSize: number;
}

export interface RunningPgBouncer {
  port: number;
  /** A connection string to the upstream database through this PgBouncer. */
  url: string;
  stop(): Promise<void>;
}

/** Starts PgBouncer and waits until it accepts TCP connections; fails with its output when it does not. */
export async function startPgBouncer({ upstream, poolSize }: PgBouncerOptions): Promise<RunningPgBouncer> {
  if (!existsSync(PGBOUNCER)) throw new Error(`PgBouncer is not installed at ${PGBOUNCER}. ${INSTALL_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), 'pgbouncer-'));
  const port = await freePort();
  const config = join(dir, 'pgbouncer.ini');
  await writeFile(join(dir, 'users.txt'), `"${upstream.user}" ""\n`);
  await writeFile(
    config,
    [
      '[databases]',
      `${upstream.database} = host=${upstream.host} port=${upstream.port} dbname=${upstream.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      // The mode under test: a server connection is lent for one transaction, then goes to another client.
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      'logfile =',
      'pidfile =',
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root: it drops to `-u <user>`, who must read the config.
  const user = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
  await chmod(dir, 0o755);
  const child = spawn(PGBOUNCER, [...(user === undefined ? [] : ['-u', user]), config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const auth = encodeURIComponent(upstream.user);
  return { port, url: `postgres://${auth}@127.0.0.1:${port}/${upstream.database}`, stop };
}

/** `postgres` where the PostgreSQL package created it, else `nobody`. */
function unprivilegedUser(): string {
  return spawnSync('id', ['-u', 'postgres']).status === 0 ? 'postgres' : 'nobody';
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`PgBouncer exited at start (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    if (await accepts(port)) return;
    if (Date.now() > deadline) throw new Error(`PgBouncer did not listen on ${port} within 10 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

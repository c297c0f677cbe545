/**
 * Database servers a test starts, kills and restarts itself, on their own free port and data directory: never the
 * shared ones on 5432, 3306 and 6379. `kill()` is a crash (SIGKILL of the server's whole process group, so no backend
 * survives to keep serving an open connection); `start()` brings the same data directory back.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * A free port for a server that will be killed and restarted on it. Not an ephemeral one (what `listen(0)` hands
 * out, 32768 and up on Linux): while ours is down, the kernel could give that very port to another test's server or
 * client, and our restart would then find it taken, or worse, talk to the other server.
 */
async function restartablePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries += 1) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (!(await isListening(port))) return port;
  }
  throw new Error('no free port between 20000 and 30000');
}

/** A database server owned by one test. */
export interface ThrowawayServer {
  /** Connection URL for the store. */
  readonly url: string;
  readonly port: number;
  /** Starts the server (again, unless it runs) on the same port and data, and resolves once it answers queries. */
  start(): Promise<void>;
  /** Crashes it: SIGKILL to its process group; resolves once it is gone. */
  kill(): Promise<void>;
  /** Kills it if running and removes its data directory. */
  dispose(): Promise<void>;
}

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const MARIADBD = '/usr/sbin/mariadbd';
const STARTUP_TIMEOUT_MS = 20_000;

const isRoot = process.getuid?.() === 0;

function requireBinary(path: string, install: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: the fault tests start their own server; install it with ${install}`);
}

function which(command: string, install: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${command} is not on PATH: the fault tests start their own server; install it with ${install}`);
  }
}

/** A process group under our control: started detached, so the whole group can be killed at once. */
class ServerProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #output = '';

  constructor(
    private readonly command: string,
    private readonly args: () => string[],
  ) {}

  get output(): string {
    return this.#output.slice(-4000);
  }

  run(): void {
    const child = spawn(this.command, this.args(), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.#child = child;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child?.pid === undefined || !this.running) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
    await this.#exited;
    // Children of the group (database backends) die with it; give the kernel a moment to free the port.
    await waitUntil(
      async () => !(await isListening(this.port)),
      5000,
      () => `port ${this.port} still in use after kill`,
    );
  }

  port = 0;
}

async function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, failure: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let done = false;
    try {
      done = await check();
    } catch (error) {
      if (error instanceof Error && error.message.includes('exited at start')) throw error;
    }
    if (done) return;
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function scratchDirectory(name: string): string {
  return mkdtempSync(join(tmpdir(), `jwt-refresh-${name}-`));
}

function userIds(user: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })),
  };
}

/**
 * PostgreSQL 15 in a fresh cluster (trust auth, fsync off: a process crash loses nothing the OS has, and the tests
 * kill processes, not the machine). As root it runs as the `postgres` user, since PostgreSQL refuses root.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayServer> {
  requireBinary(join(POSTGRES_BIN, 'initdb'), 'apt-get install -y postgresql');
  const directory = scratchDirectory('pg');
  const data = join(directory, 'data');
  const asPostgres = (command: string, args: string[]): [string, string[]] =>
    isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  if (isRoot) {
    const { uid, gid } = userIds('postgres');
    chownSync(directory, uid, gid);
  }
  const [initCommand, initArgs] = asPostgres(join(POSTGRES_BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  execFileSync(initCommand, initArgs, { stdio: 'ignore' });
  const port = await restartablePort();
  const settings = ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=60'];
  const [command, args] = asPostgres(join(POSTGRES_BIN, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    directory,
    '-h',
    '127.0.0.1',
    ...settings,
  ]);
  const server = new ServerProcess(command, () => args);
  server.port = port;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const answers = async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => {});
    }
  };
  return throwaway(server, url, answers, directory);
}

/** MariaDB in a fresh data directory (InnoDB log written, not flushed, at commit: enough to survive a process crash). */
export async function startThrowawayMariadb(): Promise<ThrowawayServer> {
  requireBinary(MARIADBD, 'apt-get install -y mariadb-server');
  const installDb = which('mariadb-install-db', 'apt-get install -y mariadb-server');
  const directory = scratchDirectory('mariadb');
  const data = join(directory, 'data');
  mkdirSync(data);
  const user = isRoot ? ['--user=root'] : [];
  execFileSync(installDb, ['--no-defaults', `--datadir=${data}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    stdio: 'ignore',
  });
  const port = await restartablePort();
  const server = new ServerProcess(MARIADBD, () => [
    '--no-defaults',
    `--datadir=${data}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(directory, 'mariadb.sock')}`,
    `--pid-file=${join(directory, 'mariadb.pid')}`,
    ...user,
    '--skip-log-bin',
    '--skip-name-resolve',
    '--innodb-flush-log-at-trx-commit=2',
    '--innodb-buffer-pool-size=16M',
    '--max-connections=100',
  ]);
  server.port = port;
  const answers = async () => {
    const connection = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
    try {
      await connection.query('CREATE DATABASE IF NOT EXISTS test');
      return true;
    } finally {
      await connection.end().catch(() => {});
    }
  };
  return throwaway(server, `mysql://root@127.0.0.1:${port}/test`, answers, directory);
}

/**
 * Redis, with `persistence` AOF fsynced on every write (what survives a crash: docs/stores.md), or with none at all
 * (`--save '' --appendonly no`, what the shared test Redis runs).
 */
export async function startThrowawayRedis({ persistence }: { persistence: boolean }): Promise<ThrowawayServer> {
  const redisServer = which('redis-server', 'apt-get install -y redis-server');
  const directory = scratchDirectory('redis');
  const port = await restartablePort();
  const durability = persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const server = new ServerProcess(redisServer, () => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    directory,
    '--save',
    '',
    ...durability,
  ]);
  server.port = port;
  const answers = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (reply) => {
        socket.destroy();
        resolve(reply.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
  return throwaway(server, `redis://127.0.0.1:${port}`, answers, directory);
}

async function throwaway(server: ServerProcess, url: string, answers: () => Promise<boolean>, directory: string): Promise<ThrowawayServer> {
  const start = async () => {
    if (server.running) return;
    server.run();
    // Our process must be the one answering: one that exited (port taken) fails the start at once.
    const ours = async () => {
      if (!server.running) throw new Error(`${url} exited at start:\n${server.output}`);
      return answers();
    };
    await waitUntil(ours, STARTUP_TIMEOUT_MS, () => `${url} did not start:\n${server.output}`);
  };
  await start();
  return {
    url,
    port: server.port,
    start,
    kill: () => server.kill(),
    async dispose() {
      await server.kill();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

// Several server processes on one store, for the "2 processes" rows of `npm run bench`:
// the node:cluster primary that bench/run.mjs forks instead of bench/row-server.mjs when a
// row has `processes` > 1. It forks BENCH_PROCESSES cluster workers running
// bench/row-server.mjs, all listening on the same two ports (the framework's and the bare
// ceiling's; node:cluster hands connections out round-robin), sharing one ES256 key as a
// deployment's instances share their keys and `secret`. Stateless instances on a shared
// store, which is how the library scales out (docs/scaling.md).
//
// The first worker creates the row's schema and is ready before the others start (they find
// it made); on `stop` the others stop first and the first drops what it created.
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from '../dist/index.js';

if (typeof process.send !== 'function') {
  console.error('bench/row-cluster.mjs is started by bench/run.mjs (it needs the IPC channel)');
  process.exit(2);
}
process.on('disconnect', () => process.exit(1));

const PROCESSES = Math.max(2, Number(process.env.BENCH_PROCESSES) || 2);

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

const port = await freePort();
const barePort = await freePort();
const { privateKeyPem } = await generateKeyPair('ES256');
cluster.setupPrimary({
  exec: join(dirname(fileURLToPath(import.meta.url)), 'row-server.mjs'),
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});

let nextId = 1;
const pending = new Map();
function startWorker(first) {
  const worker = cluster.fork({
    BENCH_PORT: String(port),
    BENCH_BARE_PORT: String(barePort),
    BENCH_KEY_PEM: privateKeyPem,
    BENCH_CREATE: first ? '1' : '0',
    BENCH_DROP: first ? '1' : '0',
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a cluster worker did not start within 30 s')), 30_000);
    worker.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(worker);
        return;
      }
      const waiter = pending.get(message?.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      waiter(message);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster worker exited (code ${code})`));
    });
  });
}

function ask(worker, type) {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    worker.send({ id, type });
  });
}

const workers = [await startWorker(true)];
for (let i = 1; i < PROCESSES; i++) workers.push(await startWorker(false));

process.on('message', async (message) => {
  if (message?.type !== 'stop') {
    process.send({ id: message?.id, ok: false, error: `unknown message ${message?.type}` });
    return;
  }
  const answers = [];
  // The first worker last: it drops the schema the others were using.
  for (const worker of [...workers.slice(1), workers[0]]) {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    const answer = await ask(worker, 'stop');
    answers.push(answer.ok ? answer.result : `stop failed: ${answer.error}`);
    await exited;
  }
  process.send({ id: message.id, ok: true, result: `${PROCESSES} processes; ${answers.at(-1)}` });
  setImmediate(() => process.exit(0));
});

process.send({ type: 'ready', port, ports: { bare: barePort }, pids: workers.map((worker) => worker.process.pid) });

// MongoDB for the "MongoDB (CongoServer)" row of `npm run bench`: the in-process
// MongoDB wire-protocol server from @push.rocks/smartmongo (no mongod can be installed
// on this project's machines, /work/shared/ENVIRONMENT.md), in its own child process
// so it does not share the benchmark server's event loop, as a real mongod would not.
// Sends { type: 'ready', url } over IPC; stops when the parent goes away or says 'stop'.
import { createServer } from 'node:net';
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';

if (typeof process.send !== 'function') {
  console.error('bench/congo-server.mjs is started by bench/run.mjs (it needs the IPC channel)');
  process.exit(2);
}
process.on('disconnect', () => process.exit(1));

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

let server = null;
let lastError;
for (let attempt = 0; attempt < 5 && server === null; attempt++) {
  const candidate = new CongoServer({ port: await freePort(), host: '127.0.0.1' });
  try {
    await candidate.start();
    server = candidate;
  } catch (error) {
    lastError = error;
  }
}
if (server === null) throw lastError;

process.on('message', async (message) => {
  if (message?.type !== 'stop') return;
  await server.stop().catch(() => undefined);
  process.exit(0);
});
// directConnection: Congo answers `hello` as a standalone; serverMonitoringMode=poll: it does
// not speak the driver's streaming monitor protocol (see test/support/congo-server.ts).
process.send({ type: 'ready', url: `mongodb://127.0.0.1:${server.port}/?directConnection=true&serverMonitoringMode=poll` });

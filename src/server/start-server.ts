import { buildServer } from './build-server.js';
import { readServerSettings } from './server-settings.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * `npm start` / `jwt-refresh serve`: validates the environment, builds the
 * server, listens, and shuts down gracefully on SIGTERM/SIGINT (in-flight
 * requests finish, then the store is closed).
 */
export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = readServerSettings(env);
  const { app } = await buildServer(settings);
  await app.listen({ host: settings.HOST, port: settings.PORT });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // In-flight requests get this long to finish (requestTimeout bounds each one anyway).
    setTimeout(() => {
      app.log.error({ signal }, 'shutdown deadline passed; closing the remaining connections');
      app.server.closeAllConnections();
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ error: error instanceof Error ? error.name : typeof error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

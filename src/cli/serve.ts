import type { Command } from 'commander';
import { startServer } from '../server/start-server.js';

/** `jwt-refresh serve`: the standalone server, configured by environment variables (SPEC §12). */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the standalone auth server (HOST, PORT, DATABASE_URL, JWT_REFRESH_CONFIG)')
    .action(async () => {
      await startServer(process.env);
    });
}

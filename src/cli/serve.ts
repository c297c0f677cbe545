import { type Command, InvalidArgumentError } from 'commander';
import { loadConfigFileWithWarnings } from '../config-file/load-config-file.js';
import { MissingPackageError, missingPackageOf, storeDriverOf } from '../server/open-store.js';
import { hostSchema, portSchema } from '../server/server-settings.js';
import { DEFAULT_DATABASE_URL } from './cli-settings.js';

interface ServeOptions {
  host?: string;
  port?: string;
}

/** What `serve` imports beyond the CLI's own dependencies (the store's driver comes on top). */
const SERVER_PACKAGES = ['fastify', 'fastify-plugin'];

/**
 * `jwt-refresh serve [--host H] [--port P]`: the standalone server,
 * configured by environment variables (SPEC §12); the options override HOST
 * and PORT. The server (Fastify and `src/server/`) is imported only here, so
 * every other command runs without the optional packages installed.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the standalone auth server (HOST, PORT, DATABASE_URL, JWT_REFRESH_CONFIG)')
    .option('--host <host>', 'interface to listen on (default: $HOST, else 127.0.0.1)', parseHost)
    .option('--port <port>', 'port to listen on, 0 for a free one (default: $PORT, else 8080)', parsePort)
    .action(async (options: ServeOptions) => {
      const env = {
        ...process.env,
        ...(options.host === undefined ? {} : { HOST: options.host }),
        ...(options.port === undefined ? {} : { PORT: options.port }),
      };
      const { startServer } = await importServer(env);
      await startServer(env);
    });
}

function parseHost(value: string): string {
  if (!hostSchema.safeParse(value).success) throw new InvalidArgumentError('expected an interface name or address.');
  return value;
}

function parsePort(value: string): string {
  if (!portSchema.safeParse(value).success) throw new InvalidArgumentError('expected a port number, digits only, from 0 to 65535.');
  return value;
}

/**
 * Imports the server; when a package it needs is missing, names every package
 * `serve` needs that is not installed (Fastify, its plugin helper, and the
 * store's driver), so one `npm install` is enough.
 */
async function importServer(env: NodeJS.ProcessEnv): Promise<typeof import('../server/start-server.js')> {
  try {
    return await import('../server/start-server.js');
  } catch (error) {
    const missing = missingPackageOf(error);
    if (missing === null) throw error;
    const driver = storeDriverOf(env.DATABASE_URL ?? configuredDatabaseUrl(env.JWT_REFRESH_CONFIG) ?? DEFAULT_DATABASE_URL);
    const needed = [...SERVER_PACKAGES, ...(driver === null ? [] : [driver])].filter((name) => name === missing || !isInstalled(name));
    if (!needed.includes(missing)) needed.unshift(missing);
    throw new MissingPackageError(`serve needs the "${missing}" package: npm install ${needed.join(' ')}`, needed);
  }
}

/** The config file's `databaseUrl`, for the install hint only: a broken file is reported when the server reads it. */
function configuredDatabaseUrl(path: string | undefined): string | undefined {
  if (path === undefined || path === '') return undefined;
  try {
    return loadConfigFileWithWarnings(path).databaseUrl;
  } catch {
    return undefined;
  }
}

function isInstalled(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

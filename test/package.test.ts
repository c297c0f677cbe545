import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/spawn-server.js';

/**
 * The package as npm users get it: `npm pack`, then the tarball installed into fresh projects
 * next to exactly the packages docs/install.md names for each use, driven through child
 * processes (`npx jwt-refresh …`, `node app.mjs`) over HTTP. The README's quick starts and curl
 * session run verbatim. publint and attw check the same tarball, with this checkout's copies.
 *
 * Installs come from the npm cache (`--prefer-offline`). better-sqlite3 is installed without
 * its install script and gets the binary this checkout already compiled: on a machine with
 * internet access its script downloads a prebuilt binary instead, and compiling it here would
 * take over a minute per project.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
type Conditions = Record<'import' | 'require', { types: string; default: string }>;
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Conditions>;
  typesVersions: Record<'*', Record<string, string[]>>;
  main: string;
  types: string;
};
const BETTER_SQLITE3 = join(ROOT, 'node_modules', 'better-sqlite3');
const betterSqliteVersion = (JSON.parse(readFileSync(join(BETTER_SQLITE3, 'package.json'), 'utf8')) as { version: string }).version;

const INSTALL_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
/** npm settings for the user-facing commands: no update check, and `npx` never fetches a package that is not installed. */
const NPM_QUIET = { npm_config_update_notifier: 'false', npm_config_yes: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; rejects only when it cannot start or outlives `timeout`. */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeout?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out:\n${stdout}${stderr}`));
    }, options.timeout ?? 120_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Like {@link run}, and the command must exit 0. */
async function ok(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeout?: number }): Promise<Run> {
  const result = await run(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result;
}

/** A long-running process in its own process group, so that stopping it also stops what npx started. */
interface Background {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}
const background: Background[] = [];

function start(command: string, args: string[], options: { cwd: string; env: Record<string, string> }): Background {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = { child, output: () => output, exited };
  background.push(started);
  return started;
}

async function stop(started: Background, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  if (started.child.exitCode === null && started.child.signalCode === null) {
    try {
      process.kill(-started.child.pid!, signal);
    } catch {
      // already gone
    }
  }
  return started.exited;
}

/** Waits until `url` answers HTTP at all (any status). */
async function waitForHttp(url: string, started: Background): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (started.child.exitCode !== null) throw new Error(`exited with ${started.child.exitCode} before listening:\n${started.output()}`);
    try {
      await fetch(url);
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not listening on ${url}:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The body of the first fenced block of `language` after the heading `heading` in the README. */
function readmeBlock(heading: string, language: string): string {
  const at = README.indexOf(`\n${heading}\n`);
  expect(at, `README heading ${heading}`).toBeGreaterThanOrEqual(0);
  const open = README.indexOf(`\n\`\`\`${language}\n`, at);
  expect(open, `a \`\`\`${language} block under ${heading}`).toBeGreaterThan(at);
  const start = open + language.length + 5;
  return README.slice(start, README.indexOf('\n```', start) + 1);
}

/**
 * What `npm pack` publishes (prepack: a clean build), made in a copy of the checkout: its own
 * dist/ built from scratch, so the tarball holds no file of a deleted source, and the checkout's
 * dist/, which other test files import while this one runs, is left alone.
 */
async function packCleanBuild(into: string): Promise<string> {
  const stage = join(into, 'stage');
  const skip = new Set(['node_modules', 'dist', '.git', 'test-results', 'var', 'coverage']);
  for (const name of readdirSync(ROOT)) {
    if (!skip.has(name) && !name.endsWith('.tgz')) cpSync(join(ROOT, name), join(stage, name), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
  // Type errors are `npm run typecheck`'s business; tsc emits anyway, as `npm run build` does.
  await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: stage, timeout: 150_000 });
  expect(existsSync(join(stage, 'dist', 'cli', 'main.js'))).toBe(true);
  // Scripts skipped: prepack would build again.
  const packing = await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', into], { cwd: stage, env: NPM_QUIET });
  const [report] = JSON.parse(packing.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = report!.files.map((file) => file.path);
  stageRoot = stage;
  return join(into, report!.filename);
}

let scratch: string;
let tarball: string;
let packed: string[];
/** The directory the tarball was packed from. */
let stageRoot: string;
let serverProject: Promise<string> | undefined;
/** `npm i jwt-refresh fastify better-sqlite3`: what `serve` and the Fastify quick start need (docs/install.md). */
const fastifyProject = (): Promise<string> => (serverProject ??= project('server', ['fastify'], { withBetterSqlite: true }));

/** A fresh project, as `npm init -y` makes it, with `packages` installed next to the tarball. */
async function project(
  name: string,
  packages: string[],
  options: { withBetterSqlite?: boolean; ignoreScripts?: boolean } = {},
): Promise<string> {
  const cwd = join(scratch, name);
  mkdirSync(cwd);
  await ok('npm', ['init', '-y'], { cwd, env: NPM_QUIET });
  const specs = options.withBetterSqlite === true ? [...packages, `better-sqlite3@${betterSqliteVersion}`] : packages;
  const ignoreScripts = options.withBetterSqlite === true || options.ignoreScripts === true;
  await ok('npm', ['install', tarball, ...specs, ...INSTALL_FLAGS, ...(ignoreScripts ? ['--ignore-scripts'] : [])], {
    cwd,
    env: NPM_QUIET,
    timeout: 150_000,
  });
  if (options.withBetterSqlite === true) {
    // What prebuild-install would download: the binary for this Node ABI, built from the same version.
    const release = join(cwd, 'node_modules', 'better-sqlite3', 'build', 'Release');
    mkdirSync(release, { recursive: true });
    copyFileSync(join(BETTER_SQLITE3, 'build', 'Release', 'better_sqlite3.node'), join(release, 'better_sqlite3.node'));
  }
  return cwd;
}

/** `npx <args>` in a project, HOME there too, as a user in a fresh shell. */
function npx(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return run('npx', args, { cwd, env: { ...NPM_QUIET, HOME: cwd, ...env } });
}

/** Login, protected route, refresh, logout, refused refresh: what every quick start promises. */
async function tokenSession(
  baseUrl: string,
  credentials: { username: string; password: string },
  headers: Record<string, string> = {},
): Promise<void> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const login = await post('/api/login_check', credentials);
  expect(login.status).toBe(200);
  expect(login.json.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(login.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);
  const me = await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${login.json.token as string}` } });
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({ username: credentials.username });
  expect((await fetch(`${baseUrl}/api/me`)).status).toBe(401);
  const refreshed = await post('/api/token/refresh', { refresh_token: login.json.refresh_token });
  expect(refreshed.status).toBe(200);
  expect(refreshed.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);
  expect(refreshed.json.refresh_token).not.toBe(login.json.refresh_token);
  expect(await post('/api/token/invalidate', { refresh_token: refreshed.json.refresh_token })).toEqual({
    status: 200,
    json: { code: 200, message: 'The supplied refresh_token has been invalidated.' },
  });
  expect(await post('/api/token/refresh', { refresh_token: refreshed.json.refresh_token })).toEqual({
    status: 401,
    json: { code: 401, message: 'Invalid JWT Refresh Token' },
  });
}

const FASTIFY_QUICK_START = readmeBlock('## Fastify quick start', 'ts');
const EXPRESS_QUICK_START = readmeBlock('## Express quick start', 'ts');
/** The README's port, swapped for a free one: the only change made to a README snippet. */
const onPort = (source: string, port: number): string => {
  expect(source).toMatch(/\b3000\b/);
  return source.replace(/\b3000\b/g, String(port));
};
/**
 * The Express quick start uses "the same instance as above": the Fastify quick start up to
 * `const app`, without its two Fastify imports, then the Express block.
 */
function expressQuickStartProgram(): string {
  const instance = FASTIFY_QUICK_START.slice(0, FASTIFY_QUICK_START.indexOf('\nconst app = ') + 1)
    .split('\n')
    .filter((line) => !/from '(fastify|jwt-refresh\/fastify)';$/.test(line))
    .join('\n');
  return `${instance}\n${EXPRESS_QUICK_START}`;
}

// Each test installs a project from the npm cache and starts processes: generous per-test time.
describe('the published package', { timeout: 150_000 }, () => {
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'jwt-refresh-package-'));
    tarball = await packCleanBuild(scratch);
  }, 240_000);

  afterEach(async () => {
    await Promise.all(background.splice(0).map((started) => stop(started)));
  });

  afterAll(() => {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it('lists every entry point alike in exports, typesVersions, the CommonJS entries and typedoc.json', () => {
    const typedoc = JSON.parse(readFileSync(join(ROOT, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const subpaths = Object.entries(manifest.exports).filter((entry): entry is [string, Conditions] => typeof entry[1] !== 'string');
    expect(subpaths.map(([subpath]) => subpath)).toEqual(
      expect.arrayContaining(['.', './fastify', './express', './fetch', './nest', './stores/sqlite']),
    );
    for (const [subpath, conditions] of subpaths) {
      // dist/<module>.js, built from src/<module>.ts; its CommonJS entry dist/cjs/<module>.cjs from src/cjs/<module>.cts.
      const module = /^\.\/dist\/(.+)\.js$/.exec(conditions.import.default)?.[1];
      expect(module, subpath).toBeDefined();
      expect(Object.keys(conditions), subpath).toEqual(['import', 'require']);
      expect(conditions, subpath).toEqual({
        import: { types: `./dist/${module!}.d.ts`, default: `./dist/${module!}.js` },
        require: { types: `./dist/cjs/${module!}.d.cts`, default: `./dist/cjs/${module!}.cjs` },
      });
      expect(existsSync(join(ROOT, 'src', `${module!}.ts`)), `src/${module!}.ts`).toBe(true);
      expect(existsSync(join(ROOT, 'src', 'cjs', `${module!}.cts`)), `src/cjs/${module!}.cts`).toBe(true);
      expect(typedoc.entryPoints, subpath).toContain(`src/${module!}.ts`);
      if (subpath === '.') expect([manifest.main, manifest.types]).toEqual([conditions.require.default, conditions.import.types]);
      else expect(manifest.typesVersions['*'][subpath.slice(2)], subpath).toEqual([conditions.import.types]);
    }
    expect(Object.keys(manifest.typesVersions['*'])).toHaveLength(subpaths.length - 1);
    expect(typedoc.entryPoints).toHaveLength(subpaths.length);
  });

  it('packs the build, the sources its maps point to, the docs and the licence, and no tests', () => {
    expect(packed).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/cli/main.js', 'public/index.html', 'docs/install.md']),
    );
    expect(packed.filter((path) => /^(test|bench|examples|\.ci|docs\/api|node_modules)\//.test(path))).toEqual([]);
    expect(packed.filter((path) => /\.test\.|tsbuildinfo/.test(path))).toEqual([]);
    // Every target of `exports` is in the tarball.
    const targets = Object.values(manifest.exports).flatMap((entry) =>
      typeof entry === 'string' ? [entry] : Object.values(entry).flatMap((conditions) => Object.values(conditions)),
    );
    targets.push(manifest.main, manifest.types);
    expect(targets.length).toBeGreaterThan(40);
    expect(targets.map((target) => posix.normalize(target)).filter((path) => !packed.includes(path))).toEqual([]);
    // Source maps resolve: every `sources` entry of every map is packed.
    const maps = packed.filter((path) => path.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(100);
    const unresolved = maps.flatMap((path) => {
      const map = JSON.parse(readFileSync(join(stageRoot, path), 'utf8')) as { sources: string[] };
      return map.sources.map((source) => posix.join(posix.dirname(path), source)).filter((source) => !packed.includes(source));
    });
    expect(unresolved).toEqual([]);
  });

  it('has no module with top-level await, so require() can load every entry point', () => {
    const withTopLevelAwait = packed
      .filter((path) => /^dist\/.*\.js$/.test(path))
      .filter((path) => {
        const source = ts.createSourceFile(path, readFileSync(join(stageRoot, path), 'utf8'), ts.ScriptTarget.Latest, true);
        const visit = (node: ts.Node): boolean =>
          !ts.isFunctionLike(node) &&
          (ts.isAwaitExpression(node) ||
            (ts.isForOfStatement(node) && node.awaitModifier !== undefined) ||
            (ts.forEachChild(node, visit) ?? false));
        return visit(source);
      });
    expect(withTopLevelAwait).toEqual([]);
  });

  it('passes publint --strict', async () => {
    const result = await run(join(BIN, 'publint'), ['run', tarball, '--strict'], { cwd: scratch });
    expect(result.stdout + result.stderr).toContain('All good!');
    expect(result.status).toBe(0);
  });

  it('passes attw in every resolution mode (strict profile: node10, node16 from CJS and ESM, bundler)', async () => {
    const result = await run(join(BIN, 'attw'), [tarball, '--format', 'ascii', '--no-color'], { cwd: scratch });
    expect(result.stdout).toContain('No problems found');
    expect(result.status).toBe(0);
  });

  it('runs the CLI with no framework or driver installed: --help, keys generate; serve names what to install', async () => {
    const cwd = await project('bare', []);
    const help = await npx(['jwt-refresh', '--help'], cwd);
    expect(help.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('keys');
    expect(help.stdout).toContain('serve');

    const keys = await npx(['jwt-refresh', 'keys', 'generate'], cwd);
    expect(keys.status, keys.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'config/jwt/private.pem'), 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(readFileSync(join(cwd, 'config/jwt/public.pem'), 'utf8')).toContain('-----BEGIN PUBLIC KEY-----');

    // `serve` without its packages: one line naming what to install (docs/install.md), no stack trace.
    const serve = await npx(['jwt-refresh', 'serve'], cwd, { PORT: String(await freePort()) });
    expect(serve.status).not.toBe(0);
    expect(serve.stderr.trim().split('\n')).toHaveLength(1);
    expect(serve.stderr).toMatch(/npm install fastify/);
  });

  it('loads from CommonJS with require(), sharing one instance with import', async () => {
    const cwd = await project('commonjs', []);
    expect(JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')).type ?? 'commonjs').toBe('commonjs');
    writeFileSync(
      join(cwd, 'check.js'),
      [
        "const assert = require('node:assert');",
        "const jwtRefresh = require('jwt-refresh');",
        "assert.strictEqual(typeof jwtRefresh.createJwtRefresh, 'function');",
        "assert.strictEqual(typeof require('jwt-refresh/stores/memory').createMemoryStore, 'function');",
        "assert.strictEqual(typeof require('jwt-refresh/fetch').createFetchHandler, 'function');",
        "assert.strictEqual(typeof require('jwt-refresh/config-file').loadConfigFile, 'function');",
        "assert.strictEqual(typeof require('jwt-refresh/gesdinet-import').importGesdinetTokens, 'function');",
        "import('jwt-refresh').then((esm) => {",
        '  assert.strictEqual(esm.JwtRefreshError, jwtRefresh.JwtRefreshError);',
        "  console.log('ok');",
        '});',
        '',
      ].join('\n'),
    );
    const result = await run('node', ['check.js'], { cwd });
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ status: 0, stdout: 'ok\n' });
    const inline = await run(
      'node',
      ['-e', "const j = require('jwt-refresh'); if (typeof j.createJwtRefresh !== 'function') process.exit(1)"],
      { cwd },
    );
    expect(inline.status, inline.stderr).toBe(0);
  });

  it('serves the README curl session from `npx jwt-refresh serve` with fastify and better-sqlite3 installed', async () => {
    const cwd = await fastifyProject();
    const port = await freePort();
    const server = start('npx', ['jwt-refresh', 'serve'], { cwd, env: { ...NPM_QUIET, HOME: cwd, HOST: '127.0.0.1', PORT: String(port) } });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${baseUrl}/health`, server);

    // The README block as written; only its host and port change, and each curl's output ends its own line.
    const session = readmeBlock('## A session with curl', 'sh').replaceAll('http://127.0.0.1:8080', baseUrl);
    expect(session).toContain(`${baseUrl}/api/login_check`);
    const script = `set -e\ncurl() { command curl "$@"; echo; }\n${session}`;
    const result = await ok('bash', ['-c', script], { cwd });
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    const [login, me, anonymous, refreshed, logout, refused] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(login!.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    expect(me).toMatchObject({ username: 'demo', roles: ['ROLE_USER'] });
    expect(anonymous).toEqual({ code: 401, message: 'JWT Token not found' });
    expect(refreshed!.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    expect(refreshed!.refresh_token).not.toBe(login!.refresh_token);
    expect(logout).toEqual({ code: 200, message: 'The supplied refresh_token has been invalidated.' });
    expect(refused).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
    expect(existsSync(join(cwd, 'var/jwt-refresh.db'))).toBe(true);

    // npx does not pass SIGTERM on to the command it runs (npm 11), so the whole group gets it, as from a terminal's Ctrl-C.
    await stop(server, 'SIGTERM');
    await expect.poll(() => existsSync(join(cwd, 'var/jwt-refresh.db-wal')), { timeout: 10_000 }).toBe(false);
    await expect(fetch(`${baseUrl}/health`)).rejects.toThrow();
  });

  it('runs the README Fastify quick start verbatim', async () => {
    // The server's project has exactly what this quick start needs; a directory of its own keeps their files apart.
    const app = join(await fastifyProject(), 'fastify-app');
    mkdirSync(app);
    expect((await npx(['jwt-refresh', 'keys', 'generate'], app)).status).toBe(0);
    const port = await freePort();
    writeFileSync(join(app, 'app.mjs'), onPort(FASTIFY_QUICK_START, port));
    const server = start('node', ['app.mjs'], { cwd: app, env: {} });
    const baseUrl = `http://localhost:${port}`;
    await waitForHttp(`${baseUrl}/api/me`, server);
    await tokenSession(baseUrl, { username: 'alice', password: 'wonderland' });
    expect(existsSync(join(app, 'var/jwt-refresh.db'))).toBe(true);
  });

  it('runs the README Express quick start verbatim (with the instance of the Fastify one)', async () => {
    const cwd = await project('express', ['express'], { withBetterSqlite: true });
    expect((await npx(['jwt-refresh', 'keys', 'generate'], cwd)).status).toBe(0);
    const port = await freePort();
    writeFileSync(join(cwd, 'app.mjs'), onPort(expressQuickStartProgram(), port));
    const server = start('node', ['app.mjs'], { cwd, env: {} });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${baseUrl}/api/me`, server);
    await tokenSession(baseUrl, { username: 'alice', password: 'wonderland' });
    expect(existsSync(join(cwd, 'node_modules', 'fastify'))).toBe(false);
  });

  it('type-checks both README quick starts against the published types (module nodenext, strict)', async () => {
    // Nothing runs here, so better-sqlite3 need not build.
    const typesOnly = ['fastify', 'express', 'better-sqlite3', '@types/node', '@types/express', '@types/better-sqlite3'];
    const cwd = await project('typescript', typesOnly, { ignoreScripts: true });
    writeFileSync(join(cwd, 'fastify-quick-start.mts'), FASTIFY_QUICK_START);
    writeFileSync(join(cwd, 'express-quick-start.mts'), expressQuickStartProgram());
    writeFileSync(
      join(cwd, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['fastify-quick-start.mts', 'express-quick-start.mts'],
      }),
    );
    const result = await run(process.execPath, [TSC, '-p', '.'], { cwd });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('starts a NestJS app compiled to CommonJS (module commonjs, and nodenext as Nest 11 does) from jwt-refresh and jwt-refresh/nest', async () => {
    const cwd = await project('nest-commonjs', [
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/platform-express',
      'reflect-metadata',
      'rxjs',
      '@types/node',
    ]);
    mkdirSync(join(cwd, 'src'));
    // The compiler options of Nest's starters: the classic CommonJS one, and Nest 11's, which
    // compiles CommonJS through module nodenext and so reads the `require` conditions of `exports`.
    const common = {
      declaration: true,
      removeComments: true,
      emitDecoratorMetadata: true,
      experimentalDecorators: true,
      allowSyntheticDefaultImports: true,
      baseUrl: './',
      skipLibCheck: true,
      strictNullChecks: true,
    };
    const starters = {
      commonjs: { ...common, module: 'commonjs', target: 'ES2021' },
      nodenext: {
        ...common,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        resolvePackageJsonExports: true,
        esModuleInterop: true,
        isolatedModules: true,
        target: 'ES2023',
      },
    };
    for (const [name, compilerOptions] of Object.entries(starters)) {
      writeFileSync(
        join(cwd, `tsconfig.${name}.json`),
        JSON.stringify({ compilerOptions: { ...compilerOptions, outDir: `./dist-${name}` }, include: ['src'] }),
      );
    }
    writeFileSync(
      join(cwd, 'src', 'main.ts'),
      `import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type AccessTokenClaims, createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from 'jwt-refresh';
import { CurrentUser, JwtAuthGuard, JwtRefreshModule } from 'jwt-refresh/nest';
import { createMemoryStore } from 'jwt-refresh/stores/memory';

@Controller('api')
@UseGuards(JwtAuthGuard)
class MeController {
  @Get('me')
  me(@CurrentUser() claims: AccessTokenClaims): AccessTokenClaims {
    return claims;
  }
}

async function bootstrap(): Promise<void> {
  const generated = await generateKeyPair('ES256');
  if (generated.secret !== null) throw new Error('ES256 makes a key pair');
  const passwordHasher = createScryptHasher();
  const jwtRefresh = await createJwtRefresh({
    jwt: { algorithm: 'ES256', secretKey: generated.privateKeyPem },
    store: createMemoryStore(),
    userProvider: createMemoryUserProvider([{ id: '1', identifier: 'demo', roles: ['ROLE_USER'], passwordHash: await passwordHasher.hash('demo') }]),
    passwordHasher,
  });
  @Module({ imports: [JwtRefreshModule.forRoot({ jwtRefresh })], controllers: [MeController] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}
void bootstrap();
`,
    );
    for (const name of Object.keys(starters)) {
      const compiled = await run(process.execPath, [TSC, '-p', `tsconfig.${name}.json`], { cwd });
      expect(compiled.stdout + compiled.stderr, name).toBe('');
      expect(readFileSync(join(cwd, `dist-${name}`, 'main.js'), 'utf8')).toContain('require("jwt-refresh/nest")');

      const port = await freePort();
      const app = start('node', [`dist-${name}/main.js`], { cwd, env: { PORT: String(port) } });
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitForHttp(`${baseUrl}/api/me`, app);
      expect(app.output()).not.toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_REQUIRE_ESM|ERR_REQUIRE_ASYNC_MODULE/);
      await tokenSession(baseUrl, { username: 'demo', password: 'demo' });
      await stop(app);
    }
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, spawnServer } from '../support/spawn-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps dialling out, which this machine refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const ARTIFACTS = join(process.cwd(), 'test-results');
const TOKEN_ROUTES = new Set(['/api/login_check', '/api/token/refresh', '/api/token/invalidate', '/api/token/revoke']);
const COOKIE = '__Host-refresh_token';

/**
 * Another origin on the same host (another port: same-site, so SameSite=Lax
 * cookies go along): a page that tries login CSRF with a text/plain form whose
 * body is JSON, and refresh and logout with `fetch(..., { mode: 'no-cors', credentials: 'include' })`.
 */
function attackerPage(target: string): string {
  return `<!doctype html><html><body>
<form id="login" method="POST" action="${target}/api/login_check" enctype="text/plain">
<input name='{"username":"demo","password":"demo","x":"' value='"}'>
</form>
<script>
window.attack = async () => {
  const outcomes = [];
  for (const path of ['/api/token/refresh', '/api/token/invalidate']) {
    // no-cors: fire and forget, as a CSRF attack does; the browser still sends the cookie.
    const response = await fetch('${target}' + path, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' });
    outcomes.push(response.type);
  }
  return outcomes;
};
</script></body></html>`;
}

/**
 * The demo page in a real browser (SPEC §4, §12): cookie mode as Chromium
 * enforces it, not as headers read by a test. The access token lives 2 s so
 * the silent refresh is exercised for real.
 */
describe('demo page in headless Chromium', () => {
  let cwd: string;
  let server: RunningServer;
  let browser: Browser;
  let attacker: Server;
  let attackerOrigin: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does) or set CHROMIUM_PATH`,
      );
    }
    cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-browser-'));
    writeFileSync(join(cwd, 'config.json'), JSON.stringify({ jwt: { tokenTtl: 2 } }));
    server = await spawnServer({ JWT_REFRESH_CONFIG: join(cwd, 'config.json'), LOG_LEVEL: 'silent' }, cwd);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    attacker = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end(attackerPage(server.baseUrl)),
    );
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerOrigin = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (attacker === undefined ? resolve(undefined) : attacker.close(resolve)));
    server?.process.kill('SIGTERM');
    await server?.exited;
    if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
  });

  async function signedIn(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/`);
    await page.click('#login');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Signed in');
    return page;
  }

  /** The number of sessions the page lists for its user. */
  async function sessionCount(page: Page): Promise<number> {
    await page.evaluate(() => {
      document.getElementById('output')!.textContent = '';
    });
    await page.click('#sessions');
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('"sessions"'));
    return ((await output(page)).body.sessions as unknown[]).length;
  }

  const status = (page: Page) => page.evaluate(() => document.getElementById('status')?.textContent);
  const output = async (page: Page) =>
    JSON.parse((await page.textContent('#output')) ?? 'null') as { status: number; body: Record<string, unknown> };

  /** The bodies of the token routes' answers as the page receives them, and the headers the browser sent. */
  function recordTokenRoutes(context: BrowserContext): { bodies: Array<Promise<string>>; sent: Array<Promise<Record<string, string>>> } {
    const bodies: Array<Promise<string>> = [];
    const sent: Array<Promise<Record<string, string>>> = [];
    context.on('response', (response: Response) => {
      if (!TOKEN_ROUTES.has(new URL(response.url()).pathname)) return;
      bodies.push(response.text());
      sent.push(response.request().allHeaders());
    });
    return { bodies, sent };
  }

  it('keeps the refresh token in an HttpOnly __Host- cookie the page never sees, refreshes silently, and logs out', async () => {
    const context = await browser.newContext();
    const cookieHeaders = new Map<string, string | undefined>();
    context.on('request', (request) => {
      void request.allHeaders().then((headers) => cookieHeaders.set(new URL(request.url()).pathname, headers.cookie));
    });
    const tokenRoutes = recordTokenRoutes(context);
    const page = await signedIn(context);

    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    // __Host-: Secure, Path=/, no Domain, so no sibling subdomain can plant or shadow it (docs/cookies.md).
    expect(cookie).toMatchObject({ name: COOKIE, httpOnly: true, secure: true, sameSite: 'Lax', path: '/', domain: '127.0.0.1' });
    expect(cookie!.value).toMatch(/^[0-9a-f]{128}$/);
    // HttpOnly as the browser enforces it: the page's script cannot see the token.
    expect(await page.evaluate(() => document.cookie)).toBe('');

    // The login's own answer is on screen (status 200 too): wait for /api/me's body, not any 200.
    await page.click('#me');
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('"username": "demo"'));
    expect(await output(page)).toMatchObject({ status: 200, body: { username: 'demo', roles: ['ROLE_USER'] } });

    // The access token (2 s) expires; the next call refreshes through the cookie and retries.
    await page.waitForTimeout(2_200);
    const refreshed = page.waitForResponse((response) => response.url().endsWith('/api/token/refresh') && response.status() === 200);
    await page.click('#me');
    await refreshed;
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('"username": "demo"'));
    expect(cookieHeaders.get('/api/token/refresh')).toMatch(/^__Host-refresh_token=[0-9a-f]{128}$/);
    const rotated = (await context.cookies())[0]!;
    expect(rotated.value).not.toBe(cookie!.value);

    await page.click('#sessions');
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('"sessions"'));
    const sessions = (await output(page)).body.sessions as Array<{ current: boolean }>;
    expect(sessions.filter((session) => session.current)).toHaveLength(1);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-page.png'), fullPage: true });

    await page.click('#logout');
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('has been invalidated'));
    expect(await context.cookies()).toEqual([]);
    expect(await status(page)).toBe('Signed out');

    // What the page's script received from login, refresh and logout: never a refresh token, and it sent no custom header.
    const bodies = await Promise.all(tokenRoutes.bodies);
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    for (const text of bodies) {
      expect(text).not.toMatch(/[0-9a-f]{128}/);
      expect(JSON.parse(text)).not.toHaveProperty('refresh_token');
    }
    for (const headers of await Promise.all(tokenRoutes.sent)) {
      expect(headers['sec-fetch-site']).toBe('same-origin');
      expect(headers).not.toHaveProperty('x-requested-with');
    }
    await context.close();
  });

  it('refuses login, refresh and logout from a page on another origin, which changes nothing', async () => {
    const context = await browser.newContext();
    // The token routes' statuses for requests the browser did not mark same-origin (the fetches' bodies are opaque).
    const statuses: Array<[string, number]> = [];
    context.on('response', (response: Response) => {
      const path = new URL(response.url()).pathname;
      if (!TOKEN_ROUTES.has(path)) return;
      void response
        .request()
        .allHeaders()
        .then(async (headers) => {
          if (headers['sec-fetch-site'] === 'same-origin') return;
          statuses.push([path, response.status()]);
        });
    });
    const page = await signedIn(context);
    const before = (await context.cookies())[0]!;
    const sessionsBefore = await sessionCount(page);

    const evil = await context.newPage();
    await evil.goto(`${attackerOrigin}/`);
    // The answers are opaque to the attacker; what matters is what the server did.
    expect(await evil.evaluate(() => (window as unknown as { attack(): Promise<string[]> }).attack())).toEqual(['opaque', 'opaque']);
    const login = evil.waitForResponse((response) => response.url().endsWith('/api/login_check'));
    await evil.evaluate(() => (document.getElementById('login') as HTMLFormElement).submit());
    await login;
    await expect.poll(() => statuses.length).toBe(3);
    expect(statuses.sort()).toEqual([
      ['/api/login_check', 403],
      ['/api/token/invalidate', 403],
      ['/api/token/refresh', 403],
    ]);
    // The form's navigation shows the answer: no token pair.
    expect(JSON.parse((await evil.textContent('body')) ?? 'null')).toEqual({ code: 403, message: 'Cross-origin request refused.' });

    // Nothing changed: the same cookie (not rotated, cleared nor replaced by a planted login), the same sessions.
    expect(await context.cookies()).toEqual([before]);
    expect(await sessionCount(page)).toBe(sessionsBefore);
    await context.close();
  });

  it('keeps two tabs signed in when both refresh at the same moment', async () => {
    const context = await browser.newContext();
    const first = await signedIn(context);
    const second = await context.newPage();
    await second.goto(`${server.baseUrl}/`);
    // The second tab restores the session from the cookie alone.
    await second.waitForFunction(() => document.getElementById('status')?.textContent === 'Signed in');

    await first.waitForTimeout(2_200);
    const refreshes: Promise<unknown>[] = [];
    context.on('response', (response) => {
      if (response.url().endsWith('/api/token/refresh')) refreshes.push(Promise.resolve(response.status()));
    });
    await Promise.all([first.click('#me'), second.click('#me')]);
    for (const page of [first, second]) {
      await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('"username": "demo"'));
      expect(await status(page)).toBe('Signed in');
    }
    expect(await Promise.all(refreshes)).toEqual([200, 200]);

    // And the shared cookie still works afterwards: the family was not revoked as reuse.
    await first.reload();
    await first.waitForFunction(() => document.getElementById('status')?.textContent === 'Signed in');
    await context.close();
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
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

/**
 * The demo page in a real browser (SPEC §4, §12): cookie mode as Chromium
 * enforces it, not as headers read by a test. The access token lives 2 s so
 * the silent refresh is exercised for real.
 */
describe('demo page in headless Chromium', () => {
  let cwd: string;
  let server: RunningServer;
  let browser: Browser;

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
  });

  afterAll(async () => {
    await browser?.close();
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

  const status = (page: Page) => page.evaluate(() => document.getElementById('status')?.textContent);
  const output = async (page: Page) =>
    JSON.parse((await page.textContent('#output')) ?? 'null') as { status: number; body: Record<string, unknown> };

  it('keeps the refresh token in an HttpOnly cookie scoped to the token routes, refreshes silently, and logs out', async () => {
    const context = await browser.newContext();
    const cookieHeaders = new Map<string, string | undefined>();
    context.on('request', (request) => {
      void request.allHeaders().then((headers) => cookieHeaders.set(new URL(request.url()).pathname, headers.cookie));
    });
    const page = await signedIn(context);

    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: 'refresh_token', httpOnly: true, secure: true, sameSite: 'Lax', path: '/api/token' });
    expect(cookie!.value).toMatch(/^[0-9a-f]{128}$/);
    // HttpOnly as the browser enforces it: the page's script cannot see the token.
    expect(await page.evaluate(() => document.cookie)).toBe('');

    // The login's own answer is on screen (status 200 too): wait for /api/me's body, not any 200.
    await page.click('#me');
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('"username": "demo"'));
    expect(await output(page)).toMatchObject({ status: 200, body: { username: 'demo', roles: ['ROLE_USER'] } });
    // Sent on the token routes only: /api/me is outside the cookie's path.
    expect(cookieHeaders.get('/api/me')).toBeUndefined();

    // The access token (2 s) expires; the next call refreshes through the cookie and retries.
    await page.waitForTimeout(2_200);
    const refreshed = page.waitForResponse((response) => response.url().endsWith('/api/token/refresh') && response.status() === 200);
    await page.click('#me');
    await refreshed;
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('"username": "demo"'));
    expect(cookieHeaders.get('/api/token/refresh')).toMatch(/^refresh_token=[0-9a-f]{128}$/);
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

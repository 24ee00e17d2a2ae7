import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig as loadApiConfig, start as startApi, type RunningAdaptiveApi } from '@micboard/adaptive-api';
import { loadConfig, startDashboard, type RunningDashboard } from '../src/index.js';
import { launchChromium } from './browser.js';

const ADMIN_TOKEN = 'browser-test-admin-token-01';
const SCREENSHOT = fileURLToPath(new URL('../screenshot.png', import.meta.url));

/** The text of one cell of a client's row. */
const cell = (page: Page, key: string, field: string) => page.locator(`tr[data-key="${key}"] [data-field="${field}"]`);

describe('the dashboard in a real browser', () => {
  let api: RunningAdaptiveApi;
  let dashboard: RunningDashboard;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    api = await startApi(loadApiConfig({ PORT: '0', ADMIN_TOKEN, LOG_LEVEL: 'silent' }));
    // The normal client is shortened (10 requests rather than 40 over 20 s) to keep the test quick.
    dashboard = await startDashboard(loadConfig({ PORT: '0', ADAPTIVE_API_URL: api.url, ADMIN_TOKEN, LOG_LEVEL: 'silent' }), {
      trafficPlans: { normal: { requests: 10, intervalMs: 50 } },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await api?.close();
  });

  it('shows the abusive client being limited: 429s, a falling multiplier, its tokens gone', async () => {
    // The link the dashboard prints: its fragment carries the per-run token, which the page keeps for
    // this tab and takes out of the address bar.
    await page.goto(dashboard.pageUrl);
    await expect.poll(() => page.url()).toBe(`${dashboard.url}/`);
    await expect.poll(() => page.textContent('[data-testid=connection]')).toBe('live');
    expect(await page.textContent('[data-testid=store]')).toBe('memory');
    expect(await page.locator('[data-testid=profiles] tr[data-user-type="anonymous"] [data-field="capacity"]').textContent()).toBe('50');
    expect(await page.locator('[data-testid=costs] tr[data-path="/api/v1/auth/login"] [data-field="cost"]').textContent()).toBe('5');

    await page.click('[data-testid=run-abusive]');
    const run = page.locator('[data-testid=traffic-abusive]');
    // Wait for the finished run's line, not for data-running to read 'false': the idle line already
    // says so until the page's next refresh after the click, and the test then read an empty run.
    await expect.poll(() => run.textContent(), { timeout: 30_000 }).toMatch(/^done: 200 sent/);
    const limited = Number(await run.getAttribute('data-limited'));
    // Only a handful of 5-token logins fit in an anonymous bucket: most of the 200 guesses are refused.
    expect(limited).toBeGreaterThan(150);
    expect(await run.textContent()).toMatch(/^done: 200 sent, 0 ok, \d+ failed, \d+ × 429$/);

    const key = 'ip:127.0.0.1';
    await page.waitForSelector(`tr[data-key="${key}"]`);
    await expect.poll(async () => Number(await cell(page, key, 'denied').textContent())).toBe(limited);
    expect(await cell(page, key, 'userType').textContent()).toBe('anonymous');
    // Every 401 and 429 cut the multiplier: it sits at (or near) the 0.1 floor.
    const multiplier = Number(await cell(page, key, 'multiplier').getAttribute('data-value'));
    expect(multiplier).toBeLessThan(0.2);
    expect(await cell(page, key, 'multiplier').textContent()).toMatch(/^×0\.1\d$/);
    expect(await cell(page, key, 'tokens').textContent()).toMatch(/^\d+ \/ \d+$/);
    const denials = page.locator('[data-testid=denials] li');
    expect(await denials.count()).toBeGreaterThan(10);
    expect(await denials.first().textContent()).toContain(`${key} (anonymous)  POST /api/v1/auth/login  cost 5`);

    // A logged-in user on the same machine is not caught up in it: its own key, its own bucket.
    await page.click('[data-testid=run-normal]');
    const normal = page.locator('[data-testid=traffic-normal]');
    await expect.poll(() => normal.textContent(), { timeout: 20_000 }).toBe('done: 10 sent, 10 ok, 0 failed, 0 × 429');
    const user = page.locator('[data-testid=clients] tr[data-key^="user:normal-"]');
    await expect.poll(() => user.count()).toBe(1);
    expect(await user.locator('[data-field="userType"]').textContent()).toBe('authenticated');
    expect(await user.locator('[data-field="denied"]').textContent()).toBe('0');

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('changes a profile and an endpoint cost through the admin API', async () => {
    await page.selectOption('#profile-form select', 'anonymous');
    await page.fill('#profile-form input[name=capacity]', '80');
    await page.click('#profile-form button');
    const capacity = page.locator('[data-testid=profiles] tr[data-user-type="anonymous"] [data-field="capacity"]');
    await expect.poll(() => capacity.textContent()).toBe('80');

    await page.fill('#cost-form input[name=path]', '/api/v1/items');
    await page.fill('#cost-form input[name=cost]', '4');
    await page.click('#cost-form button');
    const cost = page.locator('[data-testid=costs] tr[data-path="/api/v1/items"] [data-field="cost"]');
    await expect.poll(() => cost.textContent()).toBe('4');

    // The API applies what the page changed.
    expect(api.limiter.profiles().anonymous.capacity).toBe(80);
    expect(api.limiter.endpointCosts.costOf('GET', '/api/v1/items')).toBe(4);
  });

  it('resets the abusive client', async () => {
    const key = 'ip:127.0.0.1';
    await page.click(`tr[data-key="${key}"] button[data-reset="${key}"]`);
    await expect.poll(() => page.textContent('[data-testid=message]')).toBe(`Reset ${key}.`);
    // Its score and bucket are gone: a new request starts it afresh at multiplier 1.
    const stats = (await (
      await fetch(`${api.url}/api/v1/admin/rate-limit/stats?client_key=${key}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as { error?: string };
    expect(stats.error).toBe('Not found');
    await expect.poll(() => page.locator(`tr[data-key="${key}"]`).count()).toBe(0);
  });

  it('opened without its link, the page reads but changes nothing, and says which link to open', async () => {
    // A fresh context: no token kept from the link opened above.
    const context = await browser.newContext();
    try {
      const bare = await context.newPage();
      bare.setDefaultTimeout(20_000);
      await bare.goto(dashboard.url);
      await expect.poll(() => bare.textContent('[data-testid=connection]')).toBe('live');
      expect(await bare.textContent('[data-testid=message]')).toContain('Read only');
      await bare.fill('#profile-form input[name=capacity]', '9999');
      await bare.click('#profile-form button');
      await expect.poll(() => bare.textContent('[data-testid=message]')).toContain('open the link the dashboard printed at start');
      expect(api.limiter.profiles().anonymous.capacity).toBe(80);
    } finally {
      await context.close();
    }
  });
});

// The web console in a real Chromium against the real binary and the
// WeChat simulator: what it lists, what it refuses to interpret, how it
// handles tokens, what its forms and buttons change in the API, and how
// it tells the reader when something is wrong.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { launchChromium, openPage, WatchedPage } from './helpers/browser.js';
import { waitFor as poll } from './helpers/poll.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const ADMIN = 'console-admin-token-5f1c9e';
const READER = 'console-reader-token-a07d2b';
const LATER_REVOKED = 'console-revoked-token-3c88e1';
const SCOPED = 'console-scoped-token-91be04';
const SECRET = 'console-app-secret-7e2d41';
const HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> & "quotes"';
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const DOCS = new URL('../docs/', import.meta.url);

let browser: Browser | string;
let sim: Sim;
let srv: RunningServer;
let configFile: string;
const pages: WatchedPage[] = [];

interface TaskStatus {
  type: number;
  state: string;
  last_error: string | null;
  fetch_count: number;
}
interface AppStatus {
  appid: string;
  tasks: TaskStatus[];
}

const writeConfig = (tokens: unknown[]) => writeFileSync(configFile, JSON.stringify({ tokens }));

test.before(async () => {
  browser = await launchChromium();
  if (typeof browser === 'string') return;
  sim = await startSim();
  configFile = join(tempDir(), 'config.json');
  writeConfig([
    { token: ADMIN },
    { token: READER, readOnly: true },
    { token: SCOPED, appids: ['wxcBeta'] },
    { token: LATER_REVOKED },
  ]);
  srv = await startServer({
    wechatApi: sim.url,
    args: ['--config', configFile, '--refresh-interval', '0'],
    token: ADMIN,
    workers: 1,
  });
  await sim.addApp({ appid: 'wxcFail', secret: 'the-real-secret' });
  await sim.fault({ endpoint: 'token', appid: 'wxcHostile', errcode: 40164, errmsg: HOSTILE, times: 0 });
  for (const body of [
    { appid: 'wxcAlpha', appsecret: SECRET, tasks: [{ type: 0 }, { type: 1 }] },
    { appid: 'wxcBeta', appsecret: SECRET, tasks: [{ type: 0 }] },
    { appid: 'wxcFail', appsecret: SECRET, tasks: [{ type: 0 }] },
    { appid: 'wxcHostile', appsecret: SECRET, tasks: [{ type: 0 }] },
  ]) {
    const r = await srv.api.register(body);
    assert.is(r.status, 200, r.text);
  }
  await srv.api.awaitValue('wxcAlpha', 1);
  await srv.api.awaitValue('wxcBeta', 0);
  await waitFor('wxcFail and wxcHostile to be failing', async () => {
    const states = await Promise.all(['wxcFail', 'wxcHostile'].map(async (a) => (await app(a))?.tasks[0]?.state));
    return states.every((s) => s === 'failing');
  });
});

test.after(async () => {
  for (const p of pages) await p.context.close().catch(() => undefined);
  if (typeof browser !== 'string') await browser.close();
  await stopAll();
  await sim?.close();
});

async function app(appid: string): Promise<AppStatus | null> {
  const r = await srv.api.get(`/apps/${appid}`);
  return r.status === 200 ? (r.body.result as unknown as AppStatus) : null;
}

async function open(hash = '', locale = 'en-US', server = srv): Promise<Page> {
  const w = await openPage(browser as Browser, locale);
  pages.push(w);
  await w.page.goto(`${server.url}/console${hash}`);
  return w.page;
}

const row = (page: Page, appid: string, type = 0) => page.locator(`tr[data-appid="${appid}"][data-type="${type}"]`);
const problem = (page: Page) => page.locator('.notice.problem');
const outcome = (page: Page) => page.locator('.notice.outcome');

/** Fill the register form's appid and appsecret, submit, and wait for the sentence in field `key`. */
async function registerRefused(page: Page, appid: string, secret: string, key: string): Promise<string | null> {
  await page.fill('#f-appid', appid);
  await page.fill('#f-appsecret', secret);
  await page.click('button[data-action="register"]');
  const error = page.locator(`.field-error[data-field="${key}"]`);
  await waitFor(`the ${key} error`, async () => ((await error.textContent()) ?? '').length > 0);
  return error.textContent();
}

/** Conditions on the page get longer than the API's: the page itself polls every 3 s. */
const waitFor = <T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  intervalMs = 200,
) => poll(what, probe, timeoutMs, intervalMs);

/** uvu has no skip: without a browser every test says why and passes nothing off as checked. */
function browserTest(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    if (typeof browser === 'string') {
      console.log(`SKIPPED: ${name}: ${browser}`);
      return;
    }
    await fn();
  });
}

browserTest('#token= is used, then removed from the address bar and never shown', async () => {
  const page = await open(`#token=${ADMIN}`);
  await row(page, 'wxcAlpha').waitFor();
  assert.is(page.url(), `${srv.url}/console`);
  assert.is(await page.evaluate(() => location.hash), '');
  assert.is(await page.evaluate(() => sessionStorage.getItem('wechat-scheduler.console.token')), ADMIN);
  assert.is(await page.evaluate(() => document.cookie), '');
  const html = await page.content();
  assert.not.ok(html.includes(ADMIN), 'the token is not on the page');
  assert.ok(await page.locator('form.register').isVisible(), 'a write token sees the register form');
  assert.ok((await page.locator('button.delete-app').count()) > 0, 'and delete buttons');
});

browserTest("the page lists every app and task with its state; a failing task shows WeChat's errcode", async () => {
  const page = await open(`#token=${ADMIN}`);
  await row(page, 'wxcHostile').waitFor();
  const listed = (await srv.api.get('/apps?limit=1000')).body.result as unknown as { apps: AppStatus[] };
  assert.ok(listed.apps.length >= 4);
  for (const a of listed.apps) {
    for (const t of a.tasks) {
      await waitFor(
        `${a.appid}/${t.type} to show ${t.state}`,
        async () => (await row(page, a.appid, t.type).locator('.state').textContent()) === t.state,
      );
    }
  }
  assert.is(await row(page, 'wxcAlpha', 1).locator('.state').textContent(), 'ready');
  const fail = row(page, 'wxcFail');
  assert.is(await fail.locator('.state').textContent(), 'failing');
  assert.is(await fail.locator('.errcode').textContent(), 'errcode 40125');
  assert.match((await fail.locator('.error-text').textContent()) ?? '', /appsecret/);
  assert.match(
    (await row(page, 'wxcAlpha').locator('.countdown').first().textContent()) ?? '',
    /^\d+ (h|m|s)/,
    'a countdown to expiry',
  );
  assert.is(await page.locator('[data-total="apps"] .n').textContent(), String(listed.apps.length));
  assert.ok(Number(await page.locator('[data-total="failing"] .n').textContent()) >= 2);
  assert.is(await page.locator('th', { hasText: 'Owner' }).count(), 0, 'no owner column outside cluster mode');
  assert.not.ok((await page.content()).includes(SECRET), 'no appsecret on the page');
});

browserTest('a WeChat errmsg with <img onerror> and <script> is shown as text and runs nothing', async () => {
  const page = await open(`#token=${ADMIN}`);
  const cell = row(page, 'wxcHostile').locator('td.error');
  await cell.locator('.errcode').waitFor();
  const lastError = (await app('wxcHostile'))!.tasks[0]!.last_error!;
  assert.ok(
    lastError.includes('<script>') && lastError.includes('onerror'),
    `the API passes the errmsg on: ${lastError}`,
  );
  assert.is(await cell.locator('.errcode').textContent(), 'errcode 40164');
  assert.is(await cell.locator('.error-text').textContent(), lastError.replace(/^WeChat errcode 40164: /, ''));
  assert.is(await cell.locator('img, script').count(), 0, 'no element was made from it');
  await page.waitForTimeout(500); // an onerror handler would have fired by now
  assert.is(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  const w = pages.find((p) => p.page === page)!;
  assert.not.ok(
    w.requests.some((u) => new URL(u).pathname.endsWith('/x')),
    'the img was never loaded',
  );
  assert.is(await page.locator('script').count(), 1, "only the page's own module");
});

browserTest('a read-only token sees the data and no write control', async () => {
  const page = await open(`#token=${READER}`);
  await row(page, 'wxcAlpha').waitFor();
  assert.match((await page.locator('header .who').textContent()) ?? '', /Read-only/);
  assert.is(await page.locator('form.register').count(), 0);
  assert.is(await page.locator('button.refresh, button.delete-task, button.delete-app, .write').count(), 0);
  assert.is(await page.locator('th', { hasText: 'Actions' }).count(), 0);
});

browserTest('registering through the form and deleting through the page change what the API reports', async () => {
  const page = await open(`#token=${ADMIN}`);
  await row(page, 'wxcAlpha').waitFor();
  // The API's sentence next to the field it names.
  assert.is(
    await registerRefused(page, 'not valid!', 'form-secret-1', 'appid'),
    'appid must be 1-64 characters of A-Z, a-z, 0-9, _ or -.',
  );
  await page.fill('#f-appid', 'wxcForm');
  await page.selectOption('#f-tasks-0-type', '2');
  await page.click('button[data-action="register"]');
  const paramsError = page.locator(
    '.field-error[data-field="tasks.0.type"], .field-error[data-field="tasks.0.params"]',
  );
  await waitFor('the task error', async () => (await paramsError.allTextContents()).join('').length > 0);
  assert.match((await paramsError.allTextContents()).join(''), /tasks\[0\]/);
  assert.is(await app('wxcForm'), null, 'nothing registered by refused attempts');

  await page.selectOption('#f-tasks-0-type', '0');
  await page.click('button[data-action="register"]');
  await waitFor('wxcForm in the API', () => app('wxcForm'));
  await row(page, 'wxcForm').waitFor();
  assert.match((await outcome(page).textContent()) ?? '', /wxcForm registered/);
  assert.is(await page.inputValue('#f-appsecret'), '', 'the form forgets the secret');

  // Force a refresh: one more fetch from WeChat.
  await srv.api.awaitValue('wxcBeta', 0);
  const before = (await app('wxcBeta'))!.tasks[0]!.fetch_count;
  await row(page, 'wxcBeta').locator('button.refresh').click();
  await waitFor('the forced refresh', async () => (await app('wxcBeta'))!.tasks[0]!.fetch_count > before);
  await waitFor('the refresh outcome', async () => /refreshed/.test((await outcome(page).textContent()) ?? ''));

  // Delete one task, with a confirmation first.
  await row(page, 'wxcAlpha', 1).locator('button.delete-task').click();
  assert.match((await page.locator('tr.confirm').textContent()) ?? '', /Delete task 1 jsapi_ticket of wxcAlpha\?/);
  assert.is((await app('wxcAlpha'))!.tasks.length, 2, 'nothing deleted before the confirmation');
  await page.click('tr.confirm button.confirm-yes');
  await waitFor('the task to go', async () => (await app('wxcAlpha'))?.tasks.length === 1);
  await row(page, 'wxcAlpha', 1).waitFor({ state: 'detached' });

  // Cancel, then delete a whole app.
  await row(page, 'wxcForm').locator('button.delete-app').click();
  await page.click('tr.confirm button.confirm-no');
  assert.ok(await app('wxcForm'), 'cancel deletes nothing');
  await row(page, 'wxcForm').locator('button.delete-app').click();
  await page.click('tr.confirm button.confirm-yes');
  await waitFor('wxcForm to be gone from the API', async () => (await app('wxcForm')) === null);
  await row(page, 'wxcForm').waitFor({ state: 'detached' });
  assert.match((await outcome(page).textContent()) ?? '', /App wxcForm deleted/);
});

browserTest('an API error is a sentence: deleting an app someone else deleted meanwhile', async () => {
  const r = await srv.api.register({ appid: 'wxcGone', appsecret: SECRET, tasks: [{ type: 0 }] });
  assert.is(r.status, 200);
  const page = await open(`#token=${ADMIN}`);
  await row(page, 'wxcGone').locator('button.delete-app').click();
  assert.is((await srv.api.del('/app/wxcGone')).status, 200);
  await page.click('tr.confirm button.confirm-yes');
  await waitFor(
    'the 404 sentence',
    async () => (await outcome(page).textContent()) === 'The server answered 404: App wxcGone is not registered.',
  );
});

browserTest('a 403 is a sentence: a token limited to one app registering another', async () => {
  const page = await open(`#token=${SCOPED}`);
  await row(page, 'wxcBeta').waitFor();
  assert.match((await page.locator('header .who').textContent()) ?? '', /limited to some apps/);
  assert.is(await page.locator('tr[data-appid]').count(), 1, 'only its own app');
  assert.is(
    await registerRefused(page, 'wxcOutside', 'outside-secret', 'form'),
    'Not allowed (403): This API token may not access app wxcOutside. Ask for a token that may do this.',
  );
  assert.is(await app('wxcOutside'), null);
});

browserTest('search by appid prefix, filter by state, and paging', async () => {
  const page = await open(`#token=${ADMIN}`);
  await row(page, 'wxcAlpha').waitFor();
  await page.fill('input.search', 'wxcB');
  await waitFor(
    'only wxcBeta',
    async () =>
      (
        await page
          .locator('tr[data-appid]')
          .evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-appid')))])
      ).join() === 'wxcBeta',
  );
  await page.fill('input.search', '');
  await page.selectOption('select.state-filter', 'failing');
  await waitFor(
    'only failing apps',
    async () =>
      (
        await page
          .locator('tr[data-appid]')
          .evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-appid')))])
      ).join() === 'wxcFail,wxcHostile',
  );
  await page.selectOption('select.state-filter', '');
  await page.selectOption('select.page-size', '25');
  const extra = Array.from({ length: 30 }, (_, i) => `wxcPage${String(i).padStart(2, '0')}`);
  await Promise.all(extra.map((appid) => srv.api.register({ appid, appsecret: SECRET, tasks: [{ type: 0 }] })));
  await page.fill('input.search', 'wxcPage');
  await waitFor('the first page of 25', async () => (await page.locator('.range').textContent()) === '1–25 of 30 apps');
  await page.click('button.next-page');
  await waitFor('the second page', async () => (await page.locator('.range').textContent()) === '26–30 of 30 apps');
  assert.is(await row(page, 'wxcPage25').count(), 1);
  await page.click('button.prev-page');
  await waitFor(
    'back to the first page',
    async () => (await page.locator('.range').textContent()) === '1–25 of 30 apps',
  );
  await Promise.all(extra.map((appid) => srv.api.del(`/app/${appid}`)));
});

browserTest('the page updates by itself within 5 s', async () => {
  const page = await open(`#token=${ADMIN}`);
  await row(page, 'wxcAlpha').waitFor();
  const r = await srv.api.register({ appid: 'wxcLive', appsecret: SECRET, tasks: [{ type: 0 }] });
  assert.is(r.status, 200);
  await row(page, 'wxcLive').waitFor({ timeout: 30_000 });
  assert.is((await srv.api.del('/app/wxcLive')).status, 200);
  await row(page, 'wxcLive').waitFor({ state: 'detached', timeout: 30_000 });
});

browserTest(
  'an owner column appears when /apps names owners (cluster mode; here added to the answer in the browser)',
  async () => {
    const w = await openPage(browser as Browser);
    pages.push(w);
    // This server runs alone and reports no owner: the answer is given one on its way to the page.
    await w.page.route(/\/apps\?/, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { result: { apps: Array<{ appid: string; owner?: string }> } };
      for (const a of body.result.apps) a.owner = `instance-${a.appid.length % 3}`;
      await route.fulfill({ response: res, json: body });
    });
    await w.page.goto(`${srv.url}/console#token=${ADMIN}`);
    await row(w.page, 'wxcBeta').waitFor();
    assert.is(await w.page.locator('th', { hasText: 'Owner' }).count(), 1);
    assert.is(await row(w.page, 'wxcBeta').locator('td.owner').textContent(), 'instance-1');
    // The page keeps polling after this test, and a later test stops the server: a handler still
    // running then would fail in route.fetch() and take the test process down. Let the in-flight
    // one finish now, and later polls go to the server untouched.
    await w.page.unrouteAll({ behavior: 'wait' });
  },
);

browserTest('a wrong token is a sentence, and typing the right one works', async () => {
  const page = await open('#token=not-a-token');
  await problem(page).waitFor();
  assert.is(
    await problem(page).textContent(),
    'The server refused the token (401): The API token is not valid. Type a valid API token.',
  );
  await page.fill('input[name="token"]', ADMIN);
  await page.click('form.token-form button[type="submit"]');
  await row(page, 'wxcAlpha').waitFor();
  assert.is(await problem(page).count(), 0);
});

browserTest('with no token at all the page asks for one', async () => {
  const page = await open();
  await page.locator('form.token-form').waitFor();
  assert.match((await problem(page).textContent()) ?? '', /needs an API token/);
});

browserTest("中文 by the browser's language, and switchable to English", async () => {
  const page = await open(`#token=${ADMIN}`, 'zh-CN');
  await row(page, 'wxcFail').waitFor();
  assert.is(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  assert.is(await page.locator('h1').textContent(), 'wechat-scheduler 控制台');
  assert.is(await row(page, 'wxcFail').locator('.state').textContent(), '失败');
  if (SCREENSHOTS) await page.screenshot({ path: new URL('console-zh.png', DOCS).pathname, fullPage: true });
  await page.click('button.lang-en');
  assert.is(await page.locator('h1').textContent(), 'wechat-scheduler console');
  assert.is(await row(page, 'wxcFail').locator('.state').textContent(), 'failing');
  if (SCREENSHOTS) await page.screenshot({ path: new URL('console-en.png', DOCS).pathname, fullPage: true });
});

browserTest('a token removed from the config (SIGHUP) is told as an expired session', async () => {
  const page = await open(`#token=${LATER_REVOKED}`);
  await row(page, 'wxcAlpha').waitFor();
  writeConfig([{ token: ADMIN }, { token: READER, readOnly: true }, { token: SCOPED, appids: ['wxcBeta'] }]);
  srv.signal('SIGHUP');
  await waitFor(
    'the revocation to be told',
    async () =>
      /^The server no longer accepts this token \(401\)/.test(
        (await problem(page).textContent({ timeout: 1000 })) ?? '',
      ),
    60_000,
    500,
  );
  assert.ok(await page.locator('form.token-form').isVisible());
});

browserTest('in protected mode a loopback browser needs no token', async () => {
  const open2 = await startServer({ wechatApi: sim.url, workers: 1 });
  assert.is((await open2.api.register({ appid: 'wxcLoopback', appsecret: SECRET, tasks: [{ type: 0 }] })).status, 200);
  const page = await open('', 'en-US', open2);
  await row(page, 'wxcLoopback').waitFor();
  assert.match((await page.locator('header .who').textContent()) ?? '', /Protected mode/);
  assert.is(await page.locator('form.token-form').count(), 0);
  assert.ok(await page.locator('form.register').isVisible());
  await open2.stop();
});

browserTest('a server that went away is a sentence, and the page keeps working', async () => {
  const page = await open(`#token=${ADMIN}`);
  await row(page, 'wxcAlpha').waitFor();
  assert.is(await srv.stop(), 0);
  await waitFor(
    'the server-gone sentence',
    async () =>
      (await problem(page).textContent({ timeout: 1000 })) ===
      'The server does not answer (it may be stopped or restarting). Trying again every 3 s.',
    60_000,
    250,
  );
  assert.is(await row(page, 'wxcAlpha').count(), 1, 'the last data stays on the page');
  await page.click('button.lang-zh');
  assert.match((await problem(page).textContent()) ?? '', /服务器没有响应/);
});

browserTest('no page made a request to another origin or threw a script error', async () => {
  assert.ok(pages.length >= 10);
  for (const w of pages) {
    assert.ok(w.requests.length > 0);
    const origin = new URL(w.page.url()).origin;
    for (const u of w.requests) assert.is(new URL(u).origin, origin, u);
    assert.equal(w.errors, []);
  }
});

test.run();

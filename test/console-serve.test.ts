// The console's files and routes without a browser: the page and its
// policy, the redirect, /console/session, GET /apps?prefix&state&limit&after
// (against a brute-force model of the index), and the built page found
// from a copy of the built tree and from the sources.
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { webDir } from '../lib/console/assets.js';
import { validateRegistration } from '../lib/contract/registration.js';
import { newApp } from '../lib/store/new-app.js';
import { AppIndex, TASK_STATES } from '../lib/front/app-index.js';
import { TaskType } from '../lib/contract/task-type.js';
import { TaskCache } from '../lib/front/task-cache.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { TaskState } from '../lib/store/rows.js';
import { call } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADMIN = 't-console-admin';
const READER = 't-console-reader';
const SCOPED = 't-console-scoped';
let sim: Sim;
let srv: RunningServer;

interface Page {
  total: number;
  next: string | null;
  apps: Array<{ appid: string; tasks: Array<{ state: string; fetch_count: number; fail_count: number }> }>;
}

test.before(async () => {
  sim = await startSim();
  const config = join(tempDir(), 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      tokens: [
        { token: ADMIN },
        { token: READER, readOnly: true },
        { token: SCOPED, appids: ['wxqB1', 'wxqZ9', 'wxqNone'] },
      ],
    }),
  );
  srv = await startServer({ wechatApi: sim.url, args: ['--config', config], token: ADMIN, workers: 1 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('/console is one page whose policy forbids inline script and other origins; / redirects to it', async () => {
  const page = await call(srv.url, 'GET', '/console');
  assert.is(page.status, 200, 'no token needed for the page itself');
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  for (const d of [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
  ])
    assert.ok(csp.includes(d), d);
  assert.not.match(csp, /unsafe|\*|https?:/);
  assert.is(page.headers.get('x-content-type-options'), 'nosniff');
  const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.is(scripts.length, 1);
  assert.match(scripts[0]![1]!, /type="module" src="console\/assets\/main\.js"/);
  assert.is(scripts[0]![2], '', 'no inline script');
  assert.not.match(page.text, /\sstyle=|\son[a-z]+=|https?:\/\//, 'no inline style or handler, nothing from elsewhere');

  const root = await fetch(`${srv.url}/`, { redirect: 'manual' });
  assert.is(root.status, 302);
  assert.is(root.headers.get('location'), 'console');
  assert.is((await fetch(`${srv.url}/console/`, { redirect: 'manual' })).headers.get('location'), '../console');

  // Every module the page loads, and every module those import, is served with the same policy.
  const seen = new Set<string>();
  const queue = ['main.js', 'console.css', 'favicon.svg'];
  for (let name = queue.shift(); name; name = queue.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const r = await call(srv.url, 'GET', `/console/assets/${name}`);
    assert.is(r.status, 200, name);
    assert.is(r.headers.get('content-security-policy'), csp, name);
    if (name.endsWith('.js')) {
      assert.match(r.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.not.match(
        r.text,
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
        `${name} builds DOM with textContent only`,
      );
      for (const m of r.text.matchAll(/from '\.\/([a-z-]+\.js)'/g)) queue.push(m[1]!);
    }
  }
  assert.ok(seen.size >= 8, `modules: ${[...seen].join(', ')}`);
  assert.is((await call(srv.url, 'GET', '/console/assets/main.js.map')).status, 404);
  assert.is((await call(srv.url, 'GET', '/console/assets/..%2Fassets.js')).status, 404);
});

test('/console/session: what the token may do, and the totals over the apps it may see', async () => {
  assert.is((await call(srv.url, 'GET', '/console/session')).status, 401, 'the data needs a token');
  await sim.addApp({ appid: 'wxqZ9', secret: 'right' });
  for (const appid of ['wxqA1', 'wxqA2', 'wxqB1', 'wxqZ9']) {
    assert.is((await srv.api.register({ appid, appsecret: 'wrong-or-new', tasks: [{ type: 0 }] })).status, 200);
  }
  await waitFor('wxqZ9 failing and the others ready', async () => {
    const r = (await srv.api.get('/apps?prefix=wxq')).body.result as unknown as Page;
    return r.apps.every((a) => a.tasks[0]!.state === (a.appid === 'wxqZ9' ? 'failing' : 'ready'));
  });
  const admin = (await srv.api.get('/console/session')).body.result as Record<string, unknown>;
  const all = (await srv.api.get('/apps?limit=1000')).body.result as unknown as Page;
  const tasks = all.apps.flatMap((a) => a.tasks);
  const count = (s: string) => tasks.filter((t) => t.state === s).length;
  assert.equal(admin, {
    protected_mode: false,
    read_only: false,
    scoped: false,
    totals: {
      apps: all.total,
      tasks: { pending: count('pending'), ready: count('ready'), failing: count('failing') },
      fetch_count: tasks.reduce((n, t) => n + t.fetch_count, 0),
      fail_count: tasks.reduce((n, t) => n + t.fail_count, 0),
    },
  });
  const reader = (await call(srv.url, 'GET', '/console/session', { token: READER })).body.result as Record<
    string,
    unknown
  >;
  assert.is(reader.read_only, true);
  const scoped = (await call(srv.url, 'GET', '/console/session', { token: SCOPED })).body.result as {
    scoped: boolean;
    totals: { apps: number; tasks: Record<string, number> };
  };
  assert.is(scoped.scoped, true);
  assert.is(scoped.totals.apps, 2, 'wxqB1 and wxqZ9; wxqNone is not registered');
  assert.equal(scoped.totals.tasks, { pending: 0, ready: 1, failing: 1 });
});

test('GET /apps?prefix=&state=&limit=&after= pages through exactly the matching apps', async () => {
  const names = Array.from({ length: 40 }, (_, i) => `wxp${i % 2 ? 'Odd' : 'Even'}${String(i).padStart(2, '0')}`);
  await sim.addApp({ appid: 'wxpOdd01', secret: 'right' });
  await sim.addApp({ appid: 'wxpOdd03', secret: 'right' });
  await Promise.all(names.map((appid) => srv.api.register({ appid, appsecret: 'a-secret', tasks: [{ type: 0 }] })));
  const totalOf = async (q: string) => ((await srv.api.get(`/apps?${q}`)).body.result as unknown as Page).total;
  await waitFor(
    'the two wrong secrets to be failing, the rest ready',
    async () => (await totalOf('prefix=wxp&state=failing')) === 2 && (await totalOf('prefix=wxp&state=ready')) === 38,
  );
  const walk = async (query: string, limit: number) => {
    const seen: string[] = [];
    let after = '';
    for (let i = 0; i < 100; i++) {
      const r = await srv.api.get(`/apps?${query}&limit=${limit}${after ? `&after=${after}` : ''}`);
      assert.is(r.status, 200, r.text);
      const p = r.body.result as unknown as Page;
      seen.push(...p.apps.map((a) => a.appid));
      if (!p.next) return { seen, total: p.total };
      after = p.next;
    }
    throw new Error('paging did not end');
  };
  const even = await walk('prefix=wxpEven', 7);
  assert.equal(even.seen, names.filter((n) => n.startsWith('wxpEven')).sort());
  assert.is(even.total, 20);
  const failing = await walk('prefix=wxp&state=failing', 1);
  assert.equal(failing.seen, ['wxpOdd01', 'wxpOdd03']);
  const ready = await walk('prefix=wxpOdd&state=ready', 5);
  assert.equal(ready.seen, names.filter((n) => n.startsWith('wxpOdd') && n !== 'wxpOdd01' && n !== 'wxpOdd03').sort());
  assert.equal((await walk('prefix=wxpNothing', 5)).seen, []);
  // A prefix that is a whole appid, and one that sorts between apps.
  assert.equal((await walk('prefix=wxpEven10', 5)).seen, ['wxpEven10']);
  assert.equal((await walk('prefix=wxpEven1', 50)).seen, [
    'wxpEven10',
    'wxpEven12',
    'wxpEven14',
    'wxpEven16',
    'wxpEven18',
  ]);

  // A task that recovers leaves the failing list; a deleted app leaves every list.
  assert.is((await srv.api.register({ appid: 'wxpOdd01', appsecret: 'right', tasks: [{ type: 0 }] })).status, 200);
  assert.is((await srv.api.del('/app/wxpOdd03')).status, 200);
  await waitFor(
    'wxpOdd01 ready',
    async () => ((await srv.api.get('/apps?prefix=wxp&state=failing')).body.result as unknown as Page).total === 0,
  );
  assert.is(
    ((await srv.api.get('/apps?prefix=wxpOdd0')).body.result as unknown as Page).total,
    4,
    'wxpOdd01, 05, 07, 09',
  );

  // The scoped token: the same query over its own apps only.
  const scoped = await call(srv.url, 'GET', '/apps?prefix=wxq&state=failing', { token: SCOPED });
  assert.equal(
    (scoped.body.result as unknown as Page).apps.map((a) => a.appid),
    ['wxqZ9'],
  );
});

test('GET /apps without the new parameters answers as before; bad ones get a sentence', async () => {
  const r = await srv.api.get('/apps');
  assert.equal(Object.keys(r.body.result as object).sort(), ['apps', 'next', 'total']);
  for (const [q, msg] of [
    ['state=broken', 'state must be given once, one of pending, ready, failing.'],
    ['state=ready&state=failing', 'state must be given once, one of pending, ready, failing.'],
    ['prefix=has%20space', 'prefix must be given once, up to 64 characters of A-Z, a-z, 0-9, _ or -.'],
    ['limit=0', 'limit must be an integer from 1 to 1000.'],
  ]) {
    const bad = await srv.api.get(`/apps?${q}`);
    assert.is(bad.status, 400, q);
    assert.is(bad.body.message, msg);
  }
  const empty = await srv.api.get('/apps?prefix=&state=');
  assert.is(empty.status, 200, 'empty prefix and state mean "any"');
});

test('the index follows the cache through thousands of changes (model check, across a rebuild)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-index-'));
  const store = new SqliteStore(join(dir, 'data'));
  try {
    const cache = new TaskCache(store);
    const index = new AppIndex(cache);
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const model = new Map<string, Map<number, TaskState>>();
    const check = () => {
      for (const prefix of ['', 'wx1', 'wx12', 'wx9', 'wy']) {
        for (const state of [null, ...TASK_STATES]) {
          const want = [...model]
            .filter(([a, ts]) => a.startsWith(prefix) && (!state || [...ts.values()].includes(state)))
            .map(([a]) => a)
            .sort();
          const got = index.page({ prefix, state, after: '', limit: 100_000 });
          assert.equal(got.appids, want, `prefix ${prefix} state ${state}`);
          assert.is(got.total, want.length);
        }
      }
      const tasks = [...model.values()].flatMap((m) => [...m.values()]);
      const totals = index.totals();
      assert.is(totals.apps, model.size);
      for (const s of TASK_STATES) assert.is(totals.tasks[s], tasks.filter((x) => x === s).length);
    };
    const step = (small: boolean) => {
      const appid = `wx${rand(small ? 40 : 3000)}`;
      const type = rand(2) === 0 ? TaskType.AccessToken : TaskType.JsapiTicket;
      const op = rand(10);
      if (op < 5) {
        cache.registered(
          newApp(
            validateRegistration({
              appid,
              appsecret: 's',
              tasks: [{ type, ...(type === 1 ? { params: { access_token: 'x' } } : {}) }],
            }),
            Date.now(),
          ).tasks,
        );
        if (!model.get(appid)?.has(type))
          (model.get(appid) ?? model.set(appid, new Map()).get(appid)!).set(type, 'pending');
      } else if (op < 8) {
        if (!model.get(appid)?.has(type)) return;
        const state = TASK_STATES[rand(3)]!;
        cache.apply({
          appid,
          type,
          sub: '',
          value: null,
          expiresAt: null,
          state,
          lastError: null,
          refreshedAt: null,
          nextRefreshAt: null,
          authorizerAppid: null,
          fetchCount: rand(5),
          failCount: rand(5),
        });
        model.get(appid)!.set(type, state);
      } else if (op < 9) {
        cache.remove({ appid, type, sub: '' });
        model.get(appid)?.delete(type);
        if (model.get(appid)?.size === 0) model.delete(appid);
      } else {
        cache.removeApp(appid);
        model.delete(appid);
      }
    };
    for (let i = 0; i < 200; i++) {
      step(true);
      if (i % 10 === 0) check();
    }
    for (let i = 0; i < 5000; i++) step(false);
    check();
    for (let i = 0; i < 300; i++) {
      step(false);
      if (i % 50 === 0) check();
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the built page is found from a copy of the built tree, and from the sources', async () => {
  assert.ok(webDir()?.endsWith('/dist/lib/console/web/'), `from the sources (tsx): ${webDir()}`);
  const dir = mkdtempSync(join(tmpdir(), 'ws-console-copy-'));
  try {
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const copy = await startServer({ wechatApi: sim.url, bin: join(dir, 'bin', 'wechat-scheduler'), workers: 1 });
    const page = await call(copy.url, 'GET', '/console');
    assert.is(page.status, 200);
    const main = await call(copy.url, 'GET', '/console/assets/main.js');
    assert.is(main.status, 200);
    assert.match(main.text, /adoptTokenFromHash/);
    await copy.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();

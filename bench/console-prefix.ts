// The console's GET /apps?prefix=&state=&limit=&after= at 100k apps.
// Part 1, in-process with the product's own TaskCache and AppIndex: µs per
// page by prefix, by prefix and state, and by cursor, against a scan of
// every appid (what answering without the index costs) in the same run;
// also the first sort and the cost of moving one changed app.
// Part 2, over HTTP against the real binary with N registered apps:
// milliseconds per GET /apps page, next to GET /healthz on the same server.
//
//   node --import tsx bench/console-prefix.ts [--apps 100000] [--queries 2000] [--http-apps 100000] [--http-queries 300]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateRegistration } from '../lib/contract/registration.js';
import { newApp } from '../lib/store/new-app.js';
import { AppIndex, AppQuery, TASK_STATES } from '../lib/front/app-index.js';
import { TaskCache } from '../lib/front/task-cache.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { TaskState } from '../lib/store/rows.js';
import { fmt, flags, median, percentile, table } from './lib/args.js';
import { startServer, startSimulator, tempDir } from './lib/procs.js';

const opt = flags({ apps: 100_000, queries: 2000, httpApps: 100_000, httpQueries: 300 });
const appid = (i: number) => `wx${((i * 7919) % 1_000_003).toString(16).padStart(6, '0')}${String(i).padStart(6, '0')}`;
/** 1 in 100 apps failing, 1 in 50 pending, the rest ready. */
const stateOf = (i: number): TaskState => (i % 100 === 0 ? 'failing' : i % 50 === 1 ? 'pending' : 'ready');

/** Median and p99 of a sample, formatted. */
const summary = (xs: number[], digits: number): [string, string] => [
  fmt(median(xs) ?? NaN, digits),
  fmt(percentile(xs, 99) ?? NaN, digits),
];

function timeEach(n: number, fn: (i: number) => unknown): number[] {
  const out: number[] = [];
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    if (fn(i)) sink++;
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  if (sink < 0) console.log(sink);
  return out;
}

function inProcess(): void {
  const dir = mkdtempSync(join(tmpdir(), 'ws-bench-index-'));
  const store = new SqliteStore(join(dir, 'data'));
  try {
    const cache = new TaskCache(store);
    const index = new AppIndex(cache);
    for (let i = 0; i < opt.apps; i++) {
      const a = appid(i);
      cache.registered(
        newApp(validateRegistration({ appid: a, appsecret: 's', tasks: [{ type: 0 }] }), Date.now()).tasks,
      );
      cache.apply({
        appid: a,
        type: 0,
        sub: '',
        value: null,
        expiresAt: null,
        state: stateOf(i),
        lastError: null,
        refreshedAt: null,
        nextRefreshAt: null,
        authorizerAppid: null,
        fetchCount: 1,
        failCount: 0,
      });
    }
    const t0 = performance.now();
    index.page({ prefix: '', state: null, after: '', limit: 1 });
    const firstSort = performance.now() - t0;

    const prefixes = Array.from({ length: opt.queries }, (_, i) =>
      appid((i * 104_729) % opt.apps).slice(0, 2 + (i % 4)),
    );
    const query = (i: number, state: TaskState | null, after = ''): AppQuery => ({
      prefix: prefixes[i % prefixes.length]!,
      state,
      after,
      limit: 50,
    });
    const all = index.all();
    const scan = (q: AppQuery) => {
      const hits = cache
        .appids()
        .filter((a) => a.startsWith(q.prefix) && (!q.state || cache.tasksOf(a).some((t) => t.state === q.state)))
        .sort();
      return hits.slice(0, q.limit);
    };
    // Same answers, or the comparison means nothing.
    for (let i = 0; i < 20; i++) {
      for (const st of [null, 'failing' as const]) {
        const a = index.page(query(i, st)).appids.join();
        if (a !== scan(query(i, st)).join())
          throw new Error(`index and scan disagree for ${JSON.stringify(query(i, st))}`);
      }
    }
    const rows: Array<Array<string | number>> = [];
    const row = (name: string, us: number[]) => rows.push([name, ...summary(us, 1)]);
    row(
      'page by prefix (limit 50)',
      timeEach(opt.queries, (i) => index.page(query(i, null)).appids.length),
    );
    row(
      'page by prefix + state=failing',
      timeEach(opt.queries, (i) => index.page(query(i, 'failing')).appids.length),
    );
    row(
      'page by cursor (after=, no prefix)',
      timeEach(
        opt.queries,
        (i) => index.page({ prefix: '', state: null, after: all[(i * 7_919) % all.length]!, limit: 50 }).appids.length,
      ),
    );
    row(
      'one app changes state, then a page',
      timeEach(opt.queries, (i) => {
        const a = all[(i * 104_729) % all.length]!;
        cache.apply({
          appid: a,
          type: 0,
          sub: '',
          value: null,
          expiresAt: null,
          state: TASK_STATES[i % 3]!,
          lastError: null,
          refreshedAt: null,
          nextRefreshAt: null,
          authorizerAppid: null,
          fetchCount: 1,
          failCount: 0,
        });
        return index.page(query(i, 'failing')).appids.length;
      }),
    );
    row(
      'totals (running sums)',
      timeEach(opt.queries, () => index.totals().apps),
    );
    const scanUs = timeEach(Math.min(50, opt.queries), (i) => scan(query(i, null)).length);
    const scanState = timeEach(Math.min(20, opt.queries), (i) => scan(query(i, 'failing')).length);
    rows.push(['scan of every appid (no index): prefix', ...summary(scanUs, 1)]);
    rows.push(['scan of every appid (no index): prefix + state', ...summary(scanState, 1)]);
    console.log(
      `\nIn-process, ${opt.apps} apps (${opt.queries} queries each, different prefixes of 2-5 characters):\n`,
    );
    console.log(table(['query', 'median µs', 'p99 µs'], rows));
    const indexed = Number(rows[0]?.[1]);
    console.log(`\nfirst sort of ${opt.apps} appids (after start or a hand-over): ${fmt(firstSort, 1)} ms`);
    console.log(`prefix page: the index is ${fmt((median(scanUs) ?? NaN) / indexed, 0)}× faster than a scan`);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function overHttp(): Promise<void> {
  if (opt.httpApps <= 0) return;
  const token = 'bench-console-token-0123456789';
  const headers = { Authorization: `Bearer ${token}` };
  const sim = await startSimulator();
  const srv = await startServer({ wechatApi: sim.url, dataDir: join(tempDir(), 'data'), token, workers: 2 });
  try {
    // Registering again is harmless, so a connection the server closed while a request was on its way is retried.
    const register = async (i: number, attempt = 1): Promise<void> => {
      try {
        const r = await fetch(`${srv.url}/registe`, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ appid: appid(i), appsecret: 's', tasks: [{ type: 0 }] }),
        });
        if (r.status !== 200) throw new Error(`registration ${i}: ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
      } catch (e) {
        if (attempt >= 3 || !(e instanceof TypeError)) throw e;
        await register(i, attempt + 1);
      }
    };
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < opt.httpApps; i = next++) {
          await register(i);
        }
      }),
    );
    console.log(
      `\nOver HTTP: ${opt.httpApps} apps registered in ${fmt((performance.now() - t0) / 1000, 1)} s (the simulator fetches their tokens meanwhile)\n`,
    );
    const get = async (path: string) => {
      const s = performance.now();
      const r = await fetch(`${srv.url}${path}`, { headers });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body}`);
      return performance.now() - s;
    };
    const run = async (name: string, path: (i: number) => string) => {
      for (let i = 0; i < 20; i++) await get(path(i));
      const ms: number[] = [];
      for (let i = 0; i < opt.httpQueries; i++) ms.push(await get(path(i)));
      return [name, ...summary(ms, 2)];
    };
    const p = (i: number) => appid((i * 104_729) % opt.httpApps).slice(0, 2 + (i % 4));
    const rows = [
      await run('GET /healthz (same server, for scale)', () => '/healthz'),
      await run('GET /apps?prefix=<2-5 chars>&limit=50', (i) => `/apps?prefix=${p(i)}&limit=50`),
      await run('GET /apps?prefix=…&state=ready&limit=50', (i) => `/apps?prefix=${p(i)}&state=ready&limit=50`),
      await run(
        'GET /apps?after=<cursor>&limit=50',
        (i) => `/apps?after=${appid((i * 7_919) % opt.httpApps)}&limit=50`,
      ),
      await run('GET /console/session (totals)', () => '/console/session'),
    ];
    console.log(table(['request (sequential, one connection)', 'median ms', 'p99 ms'], rows));
  } finally {
    await srv.stop();
    await sim.stop();
  }
}

inProcess();
await overHttp();

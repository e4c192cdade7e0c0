// Issue 3: the auth matrix. Every route × no token / wrong token / right
// token / token scoped to another app / read-only token, against the real
// binary with tokens from the config file, the flag and the environment.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call, Reply } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const ADMIN = 'tok-admin-6c1d0e';
const SCOPED_B = 'tok-scoped-b-91fa2';
const READ_ONLY = 'tok-readonly-47be3';
const FLAG_TOKEN = 'tok-from-flag-5d2a';
const ENV_TOKENS = ['tok-env-one-83c1', 'tok-env-two-0f9e'];

const A = 'wxauthA';
const B = 'wxauthB';

type Who = 'none' | 'wrong' | 'right' | 'scoped to another app' | 'read-only';
const WHO: Who[] = ['none', 'wrong', 'scoped to another app', 'read-only', 'right'];
const tokenOf: Record<Who, string | undefined> = {
  none: undefined,
  wrong: 'tok-admin-6c1d0x',
  right: ADMIN,
  'scoped to another app': SCOPED_B,
  'read-only': READ_ONLY,
};

interface Route {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  /** What the route is, for the expectations below. */
  kind: 'write' | 'read' | 'list' | 'metrics' | 'open';
  /** Put things back after the right token did what the route does. */
  restore?: () => Promise<void>;
}

const registration = { appid: A, appsecret: 'secret-auth-a', tasks: [{ type: 0 }, { type: 1 }] };

let sim: Sim;
let srv: RunningServer;

const ROUTES: Route[] = [
  { name: 'POST /registe', method: 'POST', path: '/registe', body: registration, kind: 'write' },
  { name: 'POST /register', method: 'POST', path: '/register', body: registration, kind: 'write' },
  { name: 'GET /task/:appid/:type', method: 'GET', path: `/task/${A}/0`, kind: 'read' },
  {
    name: 'POST /task/:appid/:type/refresh',
    method: 'POST',
    path: `/task/${A}/0/refresh`,
    body: { stale: 'not-the-current-value' },
    kind: 'write',
  },
  {
    name: 'DELETE /task/:appid/:type',
    method: 'DELETE',
    path: `/task/${A}/1`,
    kind: 'write',
    restore: () => restoreA(),
  },
  { name: 'DELETE /app/:appid', method: 'DELETE', path: `/app/${A}`, kind: 'write', restore: () => restoreA() },
  { name: 'GET /apps', method: 'GET', path: '/apps', kind: 'list' },
  { name: 'GET /apps/:appid', method: 'GET', path: `/apps/${A}`, kind: 'read' },
  { name: 'GET /metrics', method: 'GET', path: '/metrics', kind: 'metrics' },
  { name: 'GET /healthz', method: 'GET', path: '/healthz', kind: 'open' },
];

function expected(r: Route, who: Who): { status: number; message?: string } {
  if (r.kind === 'open') return { status: 200, message: '' };
  if (who === 'none') return { status: 401, message: 'This server needs Authorization: Bearer <token>.' };
  if (who === 'wrong') return { status: 401, message: 'The API token is not valid.' };
  if (who === 'right') return { status: 200 };
  if (who === 'read-only')
    return r.kind === 'write'
      ? { status: 403, message: 'This API token is read-only: it may only GET.' }
      : { status: 200 };
  // Scoped to B, acting on A.
  if (r.kind === 'list') return { status: 200 };
  if (r.kind === 'metrics')
    return {
      status: 403,
      message: 'This API token is limited to some apps, so it may not read /metrics; use a token without appids.',
    };
  return { status: 403, message: `This API token may not access app ${A}.` };
}

async function ready(appid: string, types: number[]) {
  await waitFor(
    `${appid} ready`,
    async () => {
      for (const t of types)
        if ((await call(srv.url, 'GET', `/task/${appid}/${t}`, { token: ADMIN })).status !== 200) return false;
      return true;
    },
    30_000,
  );
}

async function restoreA() {
  const r = await call(srv.url, 'POST', '/registe', { token: ADMIN, body: registration });
  assert.is(r.status, 200, r.text);
  await ready(A, [0, 1]);
}

test.before(async () => {
  sim = await startSim();
  const dir = tempDir();
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      tokens: [{ token: ADMIN }, { token: SCOPED_B, appids: [B] }, { token: READ_ONLY, readOnly: true }],
    }),
  );
  srv = await startServer({
    wechatApi: sim.url,
    token: ADMIN,
    args: ['--config', config, '--token', FLAG_TOKEN],
    env: { WECHAT_SCHEDULER_TOKEN: ENV_TOKENS.join(',') },
  });
  for (const body of [registration, { appid: B, appsecret: 'secret-auth-b', tasks: [{ type: 0 }] }]) {
    const r = await srv.api.register(body);
    assert.is(r.status, 200, r.text);
  }
  await ready(A, [0, 1]);
  await ready(B, [0]);
});

test.after(async () => {
  await stopAll();
  await sim.close();
});

test('auth matrix: every route × none / wrong / scoped to another app / read-only / right', async () => {
  const failures: string[] = [];
  const rows: string[] = [];
  for (const r of ROUTES) {
    const cells: string[] = [];
    for (const who of WHO) {
      const exp = expected(r, who);
      const reply: Reply = await call(srv.url, r.method, r.path, { token: tokenOf[who], body: r.body });
      cells.push(String(reply.status));
      const where = `${r.name} with ${who} token`;
      if (reply.status !== exp.status)
        failures.push(`${where}: expected ${exp.status}, got ${reply.status} ${reply.text.slice(0, 200)}`);
      if (r.kind !== 'metrics' || reply.status !== 200) {
        if (reply.body.code !== reply.status)
          failures.push(`${where}: envelope code ${String(reply.body.code)} ≠ status`);
        if (exp.message !== undefined && reply.body.message !== exp.message)
          failures.push(`${where}: message "${String(reply.body.message)}"`);
      }
      if (reply.status === 401 && reply.headers.get('www-authenticate') !== 'Bearer')
        failures.push(`${where}: 401 without WWW-Authenticate: Bearer`);
      if (who === 'scoped to another app' && r.kind === 'list' && reply.status === 200) {
        const apps = (reply.body.result as { apps: Array<{ appid: string }> }).apps.map((a) => a.appid);
        if (JSON.stringify(apps) !== JSON.stringify([B]))
          failures.push(`${where}: lists ${apps.join(',')}, not only ${B}`);
      }
      if (who === 'right' && r.restore) await r.restore();
    }
    rows.push(`${r.name.padEnd(34)} ${cells.map((c) => c.padStart(10)).join('')}`);
  }
  console.log(`\n${''.padEnd(34)} ${WHO.map((w) => (w.split(' ')[0] ?? w).padStart(10)).join('')}\n${rows.join('\n')}`);
  assert.equal(failures, [], failures.join('\n'));
  // The refused writes changed nothing: A still has both tasks, with values the simulator accepts.
  for (const t of [0, 1])
    assert.ok(await sim.valid((await call(srv.url, 'GET', `/task/${A}/${t}`, { token: ADMIN })).body.result as string));
});

test('a scoped token works inside its scope, reads, refreshes and registers its own app', async () => {
  const opts = { token: SCOPED_B };
  assert.is((await call(srv.url, 'GET', `/task/${B}/0`, opts)).status, 200);
  assert.is((await call(srv.url, 'GET', `/apps/${B}`, opts)).status, 200);
  const refreshed = await call(srv.url, 'POST', `/task/${B}/0/refresh`, {
    ...opts,
    body: { stale: 'not-the-current-value' },
  });
  assert.is(refreshed.status, 200, refreshed.text);
  const r = await call(srv.url, 'POST', '/registe', {
    ...opts,
    body: { appid: B, appsecret: 'secret-auth-b', tasks: [{ type: 0 }] },
  });
  assert.is(r.status, 200, r.text);
  // Its scope check comes before existence: an unknown app is 403 too, so it learns nothing of other apps.
  const unknown = await call(srv.url, 'GET', '/apps/wxnobody', opts);
  assert.is(unknown.status, 403);
});

test('tokens from --token and WECHAT_SCHEDULER_TOKEN (comma-separated) are all accepted', async () => {
  for (const t of [FLAG_TOKEN, ...ENV_TOKENS]) {
    const r = await call(srv.url, 'GET', `/task/${A}/0`, { token: t });
    assert.is(r.status, 200, `${t}: ${r.text}`);
  }
  // A token that is a prefix or an extension of a real one is not one.
  for (const t of [ADMIN.slice(0, -1), `${ADMIN}x`, `${FLAG_TOKEN},${ADMIN}`]) {
    assert.is((await call(srv.url, 'GET', `/task/${A}/0`, { token: t })).status, 401, t);
  }
});

test('token values never appear in the log, even where a request was refused', async () => {
  await srv.frontLinesIn();
  const out = srv.output();
  for (const t of [ADMIN, SCOPED_B, READ_ONLY, FLAG_TOKEN, ...ENV_TOKENS, tokenOf.wrong!]) {
    assert.not.ok(out.includes(t), `token ${t.slice(0, 6)}… appears in the server output`);
  }
  assert.not.ok(out.includes('protected mode'), 'no protected-mode warning when tokens are configured');
});

test.run();

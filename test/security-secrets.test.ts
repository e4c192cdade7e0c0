// Issue 3: appsecrets never leak. A full scenario (every task type, a wrong
// secret, a changed secret, rejected requests carrying secrets, a refresh,
// a delete, a restart, trace-level logs), then every API answer, every
// header, every callback the business system received and all server output
// are searched for the secrets used: none may be found. Also: the data
// directory is 0700 and its files 0600 whatever umask the server got.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Business, startBusiness } from './helpers/business.js';
import { call, CallOptions, Reply } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const TOKEN = 'tok-secrets-3e9d1a';
const SECRETS = {
  alpha: 'S3cr3t-alpha-1c9e7f0b2d',
  alphaNew: 'S3cr3t-alphaNEW-77ab1c',
  component: 'S3cr3t-comp-5f2e9a41',
  wrong: 'S3cr3t-wrong-0d4b8e13',
  oauth: 'S3cr3t-oauth-a81c55d0',
  rejected: 'S3cr3t-rejected-93e1f7',
  deleted: 'S3cr3t-deleted-62bb0a',
};
const NOTIFY_SECRET = 'notify-hmac-key-0a7c3f';

let sim: Sim;
let biz: Business;
let dataDir: string;
let configFile: string;
const answers: string[] = [];
const outputs: string[] = [];

/** Every call keeps its whole answer (status line, headers, body) for the search at the end. */
async function api(srv: RunningServer, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const r = await call(srv.url, method, path, { token: TOKEN, ...o });
  answers.push(`${r.status} ${[...r.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${r.text}`);
  return r;
}

async function start(): Promise<RunningServer> {
  return startServer({
    wechatApi: sim.url,
    dataDir,
    args: ['--token', TOKEN, '--config', configFile, '--log-level', 'trace'],
  });
}

/** Where a secret (or its distinctive second half) appears, if anywhere. */
function findSecrets(haystack: string | Buffer, label: string): string[] {
  const hits: string[] = [];
  for (const [name, s] of Object.entries(SECRETS)) {
    for (const needle of [s, s.slice(s.length / 2)]) {
      if (haystack.includes(needle))
        hits.push(`${label} contains the ${name} appsecret${needle === s ? '' : ' (second half)'}`);
    }
  }
  return hits;
}

test.before(async () => {
  sim = await startSim();
  biz = await startBusiness();
  const dir = tempDir();
  dataDir = join(dir, 'data');
  configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ notifySecret: NOTIFY_SECRET }));
});

test.after(async () => {
  await stopAll();
  await sim.close();
  await biz.close();
});

test('a full scenario never shows an appsecret in any answer, header, callback or log line', async () => {
  await sim.addApp({ appid: 'wxswrong', secret: 'the-real-secret-at-wechat' });
  biz.params.set('component', { component_verify_ticket: 'ticket-secrets-1' });
  let srv = await start();

  const register = async (body: unknown, status = 200) => {
    const r = await api(srv, 'POST', '/registe', { body });
    assert.is(r.status, status, r.text);
    return r;
  };
  await register({
    appid: 'wxsalpha',
    appsecret: SECRETS.alpha,
    tasks: [{ type: 0, notify: `${biz.url}/notify` }, { type: 1 }],
  });
  await register({
    appid: 'wxscomp',
    appsecret: SECRETS.component,
    tasks: [
      { type: 3, params: `${biz.url}/params/component`, notify: `${biz.url}/notify` },
      {
        type: 4,
        authorizer_appid: 'wxsauth',
        params: { authorizer_refresh_token: 'art-secrets-1' },
        notify: `${biz.url}/notify`,
      },
    ],
  });
  await register({
    appid: 'wxsoauth',
    appsecret: SECRETS.oauth,
    tasks: [{ type: 2, params: { refresh_token: 'rt-secrets-1' } }],
  });
  await register({ appid: 'wxswrong', appsecret: SECRETS.wrong, tasks: [{ type: 0 }] });
  await register({ appid: 'wxsdel', appsecret: SECRETS.deleted, tasks: [{ type: 0 }] });

  const ready = (appid: string, type: number, q = '') =>
    waitFor(
      `${appid}/${type} served`,
      async () => {
        const r = await api(srv, 'GET', `/task/${appid}/${type}${q}`);
        return r.status === 200 ? (r.body.result as string) : undefined;
      },
      30_000,
    );
  const alpha0 = await ready('wxsalpha', 0);
  await ready('wxsalpha', 1);
  await ready('wxscomp', 3);
  await ready('wxscomp', 4, '?authorizer_appid=wxsauth');
  await ready('wxsoauth', 2);
  await ready('wxsdel', 0);
  // The wrong secret: a 503 naming WeChat's error, not the secret.
  const failing = await waitFor(
    'the wrong secret to fail',
    async () => {
      const r = await api(srv, 'GET', '/task/wxswrong/0');
      return r.status === 503 && r.body.message ? r : undefined;
    },
    30_000,
  );
  assert.match(String(failing.body.message), /40125|appsecret/i);

  // Rejected requests that carry a secret: none may echo it.
  await register(`{"appid":"wxsrej","appsecret":"${SECRETS.rejected}",`, 400);
  await api(srv, 'POST', '/registe', {
    raw: `{"appid":"wxsrej","appsecret":"${SECRETS.rejected}"}}`,
    headers: { 'content-type': 'application/json' },
  });
  await register({ appid: 'wxsrej', appsecret: SECRETS.rejected.repeat(30), tasks: [{ type: 0 }] }, 400);
  await register({ appid: 'wxs rej', appsecret: SECRETS.rejected, tasks: [{ type: 0 }] }, 400);
  await register(
    { appid: 'wxsrej', appsecret: SECRETS.rejected, tasks: [{ type: 0, notify: `javascript:${SECRETS.rejected}` }] },
    400,
  );
  await register({ appid: 'wxsrej', appsecret: SECRETS.rejected, tasks: [{ type: 3 }] }, 400);
  await api(srv, 'POST', '/registe', {
    body: { appid: 'wxsrej', appsecret: SECRETS.rejected, tasks: [{ type: 0 }] },
    headers: { 'content-type': 'text/plain' },
  });
  await api(srv, 'POST', '/registe', {
    body: { appid: 'wxsrej', appsecret: SECRETS.rejected, tasks: [{ type: 0 }] },
    token: 'not-a-token',
  });

  // Everything a user reads.
  await api(srv, 'GET', '/apps');
  for (const a of ['wxsalpha', 'wxscomp', 'wxsoauth', 'wxswrong', 'wxsdel']) await api(srv, 'GET', `/apps/${a}`);
  await api(srv, 'GET', '/metrics');
  await api(srv, 'GET', '/healthz');
  const refreshed = await api(srv, 'POST', '/task/wxsalpha/0/refresh', { body: { stale: alpha0 } });
  assert.is(refreshed.status, 200, refreshed.text);
  assert.is((await api(srv, 'DELETE', '/app/wxsdel')).status, 200);

  // A changed secret refetches type 0 with the new one.
  const before = (await api(srv, 'GET', '/task/wxsalpha/0')).body.result;
  await sim.addApp({ appid: 'wxsalpha', secret: SECRETS.alphaNew }); // WeChat's side of the secret change
  await register({ appid: 'wxsalpha', appsecret: SECRETS.alphaNew, tasks: [{ type: 0, notify: `${biz.url}/notify` }] });
  await waitFor(
    'the new secret to be used',
    async () => {
      const r = await api(srv, 'GET', '/task/wxsalpha/0');
      return r.status === 200 && r.body.result !== before;
    },
    30_000,
  );
  await waitFor('notify calls to arrive', () => biz.received.filter((x) => x.path === '/notify').length >= 4, 30_000);

  // A restart: every restored app is logged and served again.
  assert.is(await srv.stop(), 0);
  outputs.push(srv.output());
  srv = await start();
  await ready('wxsalpha', 0);
  await ready('wxscomp', 4, '?authorizer_appid=wxsauth');
  await api(srv, 'GET', '/apps');
  assert.is(await srv.stop(), 0);
  outputs.push(srv.output());

  // The search.
  const hits = [
    ...answers.flatMap((a, i) => findSecrets(a, `API answer ${i}`)),
    ...outputs.flatMap((o, i) => findSecrets(o, `server output of run ${i + 1}`)),
    ...biz.received.flatMap((r, i) =>
      findSecrets(
        `${r.method} ${r.path}?${r.query.toString()}\n${JSON.stringify(r.headers)}\n${r.body}`,
        `callback ${i} to the business system`,
      ),
    ),
  ];
  assert.equal(hits, [], hits.join('\n'));
  console.log(
    `\n  searched ${answers.length} API answers, ${outputs.join('').split('\n').length} lines of server output, ${biz.received.length} callbacks: no appsecret`,
  );
  assert.ok(answers.length >= 30, `searched ${answers.length} answers`);
  assert.ok(outputs.join('').split('\n').length > 20, 'searched a real amount of log output');
  assert.not.ok(outputs.join('').includes(NOTIFY_SECRET), 'the notify signing key is not logged either');
  assert.not.ok(outputs.join('').includes(TOKEN), 'the API token is not logged');

  // The search can find what is there: without an encryption key the store itself holds the live secrets.
  const stored = Buffer.concat(readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f))));
  assert.ok(stored.includes(SECRETS.alphaNew), 'canary: the unencrypted store holds the current appsecret');
  // A deleted app's secret left the files, and the replaced one too: secure_delete zeroes freed cells in the
  // main file, and the clean stop checkpointed the WAL (which holds old page versions until then).
  assert.not.ok(stored.includes(SECRETS.deleted), "the deleted app's secret is gone from the files");
  assert.not.ok(stored.includes(SECRETS.alpha), 'the replaced secret is gone from the files');
});

function umaskOf(pid: number): string {
  return /Umask:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('data directory 0700 and files 0600 from the first byte, even when started with umask 000', async () => {
  const dir = join(tempDir(), 'fresh-data');
  const old = process.umask(0o000);
  let srv: RunningServer;
  try {
    srv = await startServer({ wechatApi: sim.url, dataDir: dir, args: ['--token', TOKEN] });
  } finally {
    process.umask(old);
  }
  // The server really was given umask 000: it sets its own, in every process, before it creates anything.
  const pids = [srv.pid, ...childrenOf(srv.pid)];
  assert.ok(pids.length >= 2, 'a supervisor and a generation');
  for (const pid of pids) assert.is(umaskOf(pid), '0077', `umask of process ${pid}`);

  const r = await call(srv.url, 'POST', '/registe', {
    token: TOKEN,
    body: { appid: 'wxsmode', appsecret: 'secret-mode', tasks: [{ type: 0 }] },
  });
  assert.is(r.status, 200, r.text);
  await waitFor(
    'the value',
    async () => (await call(srv.url, 'GET', '/task/wxsmode/0', { token: TOKEN })).status === 200,
    30_000,
  );

  assert.is(statSync(dir).mode & 0o777, 0o700, 'data directory');
  const files = readdirSync(dir).sort();
  for (const f of ['wechat-scheduler.db', 'wechat-scheduler.db-shm', 'wechat-scheduler.db-wal'])
    assert.ok(files.includes(f), `${f} exists (${files.join(', ')})`);
  for (const f of files) assert.is(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  assert.is(await srv.stop(), 0);
});

test('an existing data directory of ours that is open to others is closed to 0700', async () => {
  const parent = tempDir();
  const dir = join(parent, 'open-data');
  const old = process.umask(0o000);
  try {
    mkdirSync(dir, { mode: 0o755 });
    mkdirSync(join(parent, 'x'), { mode: 0o777 }); // proof the umask is really 000 here
  } finally {
    process.umask(old);
  }
  assert.is(statSync(join(parent, 'x')).mode & 0o777, 0o777);
  assert.is(statSync(dir).mode & 0o777, 0o755);
  const srv = await startServer({ wechatApi: sim.url, dataDir: dir, args: ['--token', TOKEN] });
  assert.is(statSync(dir).mode & 0o777, 0o700);
  assert.is(await srv.stop(), 0);
});

test.run();

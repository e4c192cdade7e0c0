// Issue 3: protected mode seen from a client that is really not on
// loopback. The test builds its own network namespace joined to this one by
// a veth pair (iproute2), runs the server on 0.0.0.0, and sends requests
// from inside the namespace, so the server sees a 10.x peer address.
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const NS = `wsq${process.pid}`;
const HOST_IF = `wsv${process.pid}a`;
const NS_IF = `wsv${process.pid}b`;
const NET = `10.231.${(process.pid % 200) + 10}`;
const HOST_ADDR = `${NET}.1`;
const NS_ADDR = `${NET}.2`;

const PROTECTED =
  'No API token is configured, so only loopback clients are served; start the server with --token <secret> (or WECHAT_SCHEDULER_TOKEN, or "tokens" in the --config file) and send Authorization: Bearer <secret>.';

function ip(...args: string[]) {
  return spawnSync('ip', args, { encoding: 'utf8' });
}

/** Why the namespace cannot be made here, or null when it was made. */
function setUpNamespace(): string | null {
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error) return `iproute2 is not installed (${probe.error.message}); .ci/run installs it`;
  if (probe.status !== 0) return `"ip netns" does not work here: ${probe.stderr.trim()}`;
  const steps = [
    ['netns', 'add', NS],
    ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF],
    ['link', 'set', NS_IF, 'netns', NS],
    ['addr', 'add', `${HOST_ADDR}/24`, 'dev', HOST_IF],
    ['link', 'set', HOST_IF, 'up'],
    ['netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_ADDR}/24`, 'dev', NS_IF],
    ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up'],
    ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up'],
  ];
  for (const s of steps) {
    const r = ip(...s);
    if (r.status !== 0) {
      tearDownNamespace();
      return `"ip ${s.join(' ')}" failed: ${r.stderr.trim()} (creating a network namespace needs root or CAP_NET_ADMIN)`;
    }
  }
  return null;
}

function tearDownNamespace(): void {
  ip('netns', 'del', NS); // takes the veth pair with it
  ip('link', 'del', HOST_IF);
}
process.on('exit', tearDownNamespace);

interface NsRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface NsReply {
  status: number;
  body: { code?: number; message?: string; result?: unknown } | null;
  error?: string;
}

// Runs inside the namespace: the requests one after another, results as one JSON line.
const CLIENT = `
const reqs = JSON.parse(process.argv[1]);
(async () => {
  const out = [];
  for (const r of reqs) {
    try {
      const res = await fetch(r.url, { method: r.method ?? 'GET', headers: r.headers, body: r.body, signal: AbortSignal.timeout(10000) });
      const text = await res.text();
      let body = null;
      try { body = JSON.parse(text); } catch {}
      out.push({ status: res.status, body });
    } catch (e) {
      out.push({ status: 0, body: null, error: String(e && e.cause ? e.cause.code || e.cause.message : e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

/** One reply per request, in order. */
function fromNamespace<const R extends readonly NsRequest[]>(reqs: R): Promise<{ [K in keyof R]: NsReply }> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', NS, process.execPath, '-e', CLIENT, JSON.stringify(reqs)],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else {
          const replies = JSON.parse(stdout) as NsReply[];
          if (replies.length !== reqs.length) reject(new Error(`${replies.length} replies to ${reqs.length} requests`));
          else resolve(replies as { [K in keyof R]: NsReply });
        }
      },
    );
  });
}

let sim: Sim;
let skipped: string | null = null;
const base = (srv: RunningServer) => `http://${HOST_ADDR}:${srv.port}`;

async function serverOnAllAddresses(extra: string[] = [], config?: object): Promise<RunningServer> {
  const args = ['--host', '0.0.0.0', ...extra]; // the later --host wins over the helper's 127.0.0.1
  if (config) {
    const file = join(tempDir(), 'config.json');
    writeFileSync(file, JSON.stringify(config));
    args.push('--config', file);
  }
  return startServer({ wechatApi: sim.url, args });
}

test.before(async () => {
  skipped = setUpNamespace();
  if (skipped) console.log(`\n  SKIPPED security-netns: ${skipped}`);
  sim = await startSim();
});

test.after(async () => {
  await stopAll();
  await sim.close();
  tearDownNamespace();
});

test('protected mode: a non-loopback client gets 403 with how to set a token; loopback is served', async () => {
  if (skipped) return;
  const srv = await serverOnAllAddresses();
  // The warning follows the "listening" line that startServer waited for: it may still be on its way.
  const warn = await waitFor(
    'the protected-mode warning',
    () => srv.logs().find((l) => l.level === 'warn' && String(l.msg).includes('protected mode')),
    10_000,
  ).catch(() => undefined);
  assert.ok(warn, 'a warning at start says the server is in protected mode');

  const reg = await srv.api.register({ appid: 'wxnetns1', appsecret: 'secret-netns-1', tasks: [{ type: 0 }] });
  assert.is(reg.status, 200, reg.text);
  const value = await waitFor(
    'the value on loopback',
    () => srv.api.value('wxnetns1', 0).catch(() => undefined),
    30_000,
  );

  const b = base(srv);
  const replies = await fromNamespace([
    { url: `${b}/task/wxnetns1/0` },
    { url: `${b}/apps` },
    { url: `${b}/metrics` },
    {
      url: `${b}/registe`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appid: 'wxnetns2', appsecret: 'x', tasks: [{ type: 0 }] }),
    },
    { url: `${b}/app/wxnetns1`, method: 'DELETE' },
    // A client cannot claim to be loopback: X-Forwarded-For is not trusted without trustedProxy.
    { url: `${b}/task/wxnetns1/0`, headers: { 'x-forwarded-for': '127.0.0.1' } },
    { url: `${b}/healthz` },
  ]);
  for (const r of replies.slice(0, 6)) {
    assert.is(r.status, 403, JSON.stringify(r));
    assert.is(r.body?.code, 403);
    assert.is(r.body?.message, PROTECTED);
  }
  assert.is(replies[6].status, 200, '/healthz stays open');

  // Nothing the namespace client sent took effect; loopback is still served.
  assert.is(await srv.api.value('wxnetns1', 0), value);
  assert.is((await srv.api.get('/task/wxnetns2/0')).status, 404);
});

test('a trusted proxy may vouch for a loopback client; any other forwarded address is refused', async () => {
  if (skipped) return;
  const srv = await serverOnAllAddresses([], { trustedProxy: [NS_ADDR] });
  const reg = await srv.api.register({ appid: 'wxnetns3', appsecret: 'secret-netns-3', tasks: [{ type: 0 }] });
  assert.is(reg.status, 200, reg.text);
  await waitFor('the value on loopback', () => srv.api.value('wxnetns3', 0).catch(() => undefined), 30_000);
  const url = `${base(srv)}/task/wxnetns3/0`;
  const [plain, vouched, remote, spoofedChain] = await fromNamespace([
    { url },
    { url, headers: { 'x-forwarded-for': '127.0.0.1' } },
    { url, headers: { 'x-forwarded-for': '198.51.100.4' } },
    // Read from the right: the hop the trusted proxy saw is 198.51.100.4, whatever the client wrote before it.
    { url, headers: { 'x-forwarded-for': '127.0.0.1, 198.51.100.4' } },
  ]);
  assert.is(plain.status, 403, 'the proxy itself is not loopback');
  assert.is(vouched.status, 200, JSON.stringify(vouched));
  assert.is(remote.status, 403);
  assert.is(spoofedChain.status, 403);
});

test('with a token configured, a non-loopback client with the token is served and without it gets 401', async () => {
  if (skipped) return;
  const srv = await serverOnAllAddresses(['--token', 'tok-netns-2b7c']);
  const reg = await call(srv.url, 'POST', '/registe', {
    token: 'tok-netns-2b7c',
    body: { appid: 'wxnetns4', appsecret: 'secret-netns-4', tasks: [{ type: 0 }] },
  });
  assert.is(reg.status, 200, reg.text);
  await waitFor(
    'the value',
    async () => (await call(srv.url, 'GET', '/task/wxnetns4/0', { token: 'tok-netns-2b7c' })).status === 200,
    30_000,
  );
  const url = `${base(srv)}/task/wxnetns4/0`;
  const [withToken, without] = await fromNamespace([
    { url, headers: { authorization: 'Bearer tok-netns-2b7c' } },
    { url },
  ]);
  assert.is(withToken.status, 200, JSON.stringify(withToken));
  assert.is(without.status, 401);
});

test('on loopback, X-Forwarded-For is ignored unless trustedProxy names loopback', async () => {
  if (skipped) return;
  // No namespace needed here, but this file owns the protected-mode servers.
  const open = await serverOnAllAddresses();
  assert.is((await open.api.get('/apps', { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
  const proxied = await serverOnAllAddresses([], { trustedProxy: '127.0.0.1' });
  const get = (xff?: string) => proxied.api.get('/apps', { headers: xff ? { 'x-forwarded-for': xff } : {} });
  assert.is((await get()).status, 200);
  assert.is((await get('127.0.0.1')).status, 200);
  assert.is((await get('203.0.113.7')).status, 403);
  assert.is((await get('203.0.113.7, 127.0.0.1')).status, 403);
  assert.is((await get('not-an-address')).status, 403);
});

test.run();

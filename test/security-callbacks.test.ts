// Issue 3: callbacks to the business system. Signed notify verified by the
// test's own receiver and by the README's snippet (docs/verify-notify.mjs),
// which rejects a tampered body; redirects never followed; params answers
// capped in size and time; the callbackHosts allow-list at registration and
// again before every call.
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

type Verify = (
  secret: string,
  headers: IncomingHttpHeaders,
  rawBody: Buffer | string,
  maxAgeSeconds?: number,
) => boolean;
const SNIPPET = new URL('../docs/verify-notify.mjs', import.meta.url);

const TOKEN = 'tok-callbacks-51ac';
const NOTIFY_SECRET = 'notify-signing-key-c0ffee42';

interface Hit {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

/** The business system: records every request with its raw body bytes. */
class Receiver {
  hits: Hit[] = [];
  url = '';
  private server!: Server;
  private readonly hanging = new Set<ServerResponse>();

  count(path: string): number {
    return this.hits.filter((h) => h.path === path).length;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const u = new URL(req.url!, 'http://x');
        this.hits.push({ path: u.pathname, query: u.searchParams, headers: req.headers, raw: Buffer.concat(chunks) });
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        switch (u.pathname) {
          case '/notify':
            return json(200, {});
          case '/notify-redirect':
            res.writeHead(302, { location: `${this.url}/notify-target` });
            return res.end();
          case '/params/redirect':
            res.writeHead(302, { location: `${this.url}/params/target` });
            return res.end();
          case '/params/target':
          case '/params/ok':
            return json(200, { component_verify_ticket: 'ticket-callbacks' });
          case '/params/huge':
            return json(200, { component_verify_ticket: 'x'.repeat(100_000) });
          case '/params/hang':
            this.hanging.add(res); // never answered
            return;
          default:
            return json(404, { error: 'unknown' });
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let sim: Sim;
let recv: Receiver;
let srv: RunningServer;
let verifyNotify: Verify;

function configFile(settings: object): string {
  const f = join(tempDir(), 'config.json');
  writeFileSync(f, JSON.stringify(settings));
  return f;
}

async function lastError(s: RunningServer, path: string, pattern: RegExp): Promise<string> {
  return waitFor(
    `${path} to fail with ${pattern}`,
    async () => {
      const r = await s.api.get(path);
      return r.status === 503 && pattern.test(String(r.body.message)) ? String(r.body.message) : undefined;
    },
    30_000,
  );
}

test.before(async () => {
  sim = await startSim();
  recv = new Receiver();
  await recv.start();
  verifyNotify = ((await import(SNIPPET.href)) as { verifyNotify: Verify }).verifyNotify;
  srv = await startServer({
    wechatApi: sim.url,
    token: TOKEN,
    args: ['--token', TOKEN, '--config', configFile({ notifySecret: NOTIFY_SECRET, callbackTimeoutMs: 1000 })],
  });
});

test.after(async () => {
  await stopAll();
  await sim.close();
  await recv.close();
});

test('every notify is signed: the receiver checks the HMAC, the README snippet accepts it and rejects any tampering', async () => {
  const r = await srv.api.register({
    appid: 'wxcb1',
    appsecret: 'secret-cb1',
    tasks: [{ type: 0, notify: `${recv.url}/notify?tenant=7` }],
  });
  assert.is(r.status, 200, r.text);
  const hit = await waitFor(
    'a notify',
    () => recv.hits.find((h) => h.path === '/notify' && h.query.get('appid') === 'wxcb1'),
    30_000,
  );
  assert.is(hit.query.get('tenant'), '7');
  assert.is(hit.query.get('type'), '0');
  const ts = hit.headers['x-scheduler-timestamp'] as string;
  const sig = hit.headers['x-scheduler-signature'] as string;
  assert.match(ts, /^\d{10}$/);
  assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 120, 'timestamp is now, in seconds');

  // The test's own check, from the definition: sha256=hex(HMAC-SHA256(key, timestamp + "." + raw body)).
  const own = `sha256=${createHmac('sha256', NOTIFY_SECRET)
    .update(Buffer.concat([Buffer.from(`${ts}.`), hit.raw]))
    .digest('hex')}`;
  assert.is(sig, own);
  const body = JSON.parse(hit.raw.toString('utf8')) as { access_token: string; expires_in: number };
  assert.is(body.access_token, await srv.api.value('wxcb1', 0));

  // The README's snippet.
  assert.ok(verifyNotify(NOTIFY_SECRET, hit.headers, hit.raw), 'accepts the real notify (Buffer body)');
  assert.ok(
    verifyNotify(NOTIFY_SECRET, hit.headers, hit.raw.toString('utf8')),
    'accepts the real notify (string body)',
  );
  const tampered = Buffer.from(
    hit.raw.toString('utf8').replace(body.access_token, `${body.access_token.slice(0, -1)}X`),
  );
  assert.is.not(tampered.toString(), hit.raw.toString());
  assert.not.ok(verifyNotify(NOTIFY_SECRET, hit.headers, tampered), 'rejects a tampered body');
  assert.not.ok(
    verifyNotify(NOTIFY_SECRET, hit.headers, Buffer.concat([hit.raw, Buffer.from(' ')])),
    'rejects an extra byte',
  );
  assert.not.ok(
    verifyNotify(NOTIFY_SECRET, { ...hit.headers, 'x-scheduler-timestamp': String(Number(ts) + 1) }, hit.raw),
    'rejects another timestamp',
  );
  assert.not.ok(verifyNotify('another-key', hit.headers, hit.raw), 'rejects another key');
  assert.not.ok(
    verifyNotify(NOTIFY_SECRET, { ...hit.headers, 'x-scheduler-signature': undefined }, hit.raw),
    'rejects a missing signature',
  );
  assert.not.ok(
    verifyNotify(NOTIFY_SECRET, { ...hit.headers, 'x-scheduler-signature': `${sig.slice(0, -2)}é` }, hit.raw),
    'rejects a signature of another byte length',
  );
  // A replay: correctly signed, but ten minutes old.
  const old = String(Math.floor(Date.now() / 1000) - 600);
  const oldSig = `sha256=${createHmac('sha256', NOTIFY_SECRET).update(`${old}.`).update(hit.raw).digest('hex')}`;
  assert.not.ok(
    verifyNotify(NOTIFY_SECRET, { 'x-scheduler-timestamp': old, 'x-scheduler-signature': oldSig }, hit.raw),
    'rejects an old notify',
  );
  assert.ok(
    verifyNotify(NOTIFY_SECRET, { 'x-scheduler-timestamp': old, 'x-scheduler-signature': oldSig }, hit.raw, 3600),
    'the age limit is the only reason',
  );
});

test('docs/security.md shows exactly the snippet the test runs', () => {
  const code = readFileSync(SNIPPET, 'utf8').trim();
  const doc = readFileSync(new URL('../docs/security.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(code), 'docs/security.md contains docs/verify-notify.mjs verbatim');
});

test('redirects are never followed: params and notify answering 302 are failures, the target is never called', async () => {
  const r = await srv.api.register({
    appid: 'wxcb3',
    appsecret: 'secret-cb3',
    tasks: [{ type: 3, params: `${recv.url}/params/redirect` }],
  });
  assert.is(r.status, 200, r.text);
  await lastError(srv, '/task/wxcb3/3', /params URL answered HTTP 302; redirects are not followed/);

  const n = await srv.api.register({
    appid: 'wxcb4',
    appsecret: 'secret-cb4',
    tasks: [{ type: 0, notify: `${recv.url}/notify-redirect` }],
  });
  assert.is(n.status, 200, n.text);
  // Retried, so it was taken as a failure.
  await waitFor('the notify to be retried', () => recv.count('/notify-redirect') >= 2, 30_000);
  assert.is(recv.count('/params/target'), 0, 'params redirect target never called');
  assert.is(recv.count('/notify-target'), 0, 'notify redirect target never called');
});

test('a params answer over 64 KiB is refused; a hanging params URL times out (callbackTimeoutMs) and holds nobody up', async () => {
  const big = await srv.api.register({
    appid: 'wxcb5',
    appsecret: 'secret-cb5',
    tasks: [{ type: 3, params: `${recv.url}/params/huge` }],
  });
  assert.is(big.status, 200, big.text);
  await lastError(srv, '/task/wxcb5/3', /params URL answer larger than 65536 bytes/);

  const started = Date.now();
  const hang = await srv.api.register({
    appid: 'wxcb6',
    appsecret: 'secret-cb6',
    tasks: [{ type: 3, params: `${recv.url}/params/hang` }],
  });
  assert.is(hang.status, 200, hang.text);
  const other = await srv.api.register({
    appid: 'wxcb7',
    appsecret: 'secret-cb7',
    tasks: [{ type: 3, params: `${recv.url}/params/ok` }],
  });
  assert.is(other.status, 200, other.text);
  await waitFor('the other app, not held up', () => srv.api.value('wxcb7', 3).catch(() => undefined), 30_000);
  await lastError(srv, '/task/wxcb6/3', /params URL timed out/);
  assert.ok(Date.now() - started < 20_000, `bounded: ${Date.now() - started} ms`);
});

test('callbackHosts: other hosts refused at registration, and before every call after the list changed', async () => {
  const dataDir = join(tempDir(), 'data');
  const allowed = configFile({ callbackHosts: [`127.0.0.1:${recv.port}`] });
  let s = await startServer({
    wechatApi: sim.url,
    dataDir,
    token: TOKEN,
    args: ['--token', TOKEN, '--config', allowed],
  });
  const refused = [
    [
      { type: 0, notify: `http://localhost:${recv.port}/notify` },
      `tasks[0].notify host localhost:${recv.port} is not in callbackHosts of the server's config file.`,
    ],
    [
      { type: 3, params: 'http://127.0.0.1:1/params' },
      "tasks[0].params host 127.0.0.1:1 is not in callbackHosts of the server's config file.",
    ],
    [
      { type: 0, notify: 'http://169.254.169.254/latest/meta-data' },
      "tasks[0].notify host 169.254.169.254 is not in callbackHosts of the server's config file.",
    ],
  ] as const;
  for (const [t, message] of refused) {
    const r = await s.api.register({ appid: 'wxcbhost', appsecret: 'secret-host', tasks: [t] });
    assert.is(r.status, 400, r.text);
    assert.is(r.body.message, message);
  }
  assert.is((await s.api.get('/task/wxcbhost/0')).status, 404, 'nothing registered');

  const ok = await s.api.register({
    appid: 'wxcbhost',
    appsecret: 'secret-host',
    tasks: [
      { type: 0, notify: `${recv.url}/notify` },
      { type: 3, params: `${recv.url}/params/missing` },
    ],
  });
  assert.is(ok.status, 200, ok.text);
  await waitFor(
    'the allowed notify',
    () => recv.hits.some((h) => h.path === '/notify' && h.query.get('appid') === 'wxcbhost'),
    30_000,
  );
  await lastError(s, '/task/wxcbhost/3', /params URL answered HTTP 404/);
  assert.is(await s.stop(), 0);

  // The list no longer names the receiver: stored URLs are not called any more.
  s = await startServer({
    wechatApi: sim.url,
    dataDir,
    token: TOKEN,
    args: ['--token', TOKEN, '--config', configFile({ callbackHosts: ['*.example.com'] })],
  });
  await lastError(s, '/task/wxcbhost/3', /params URL host is not in callbackHosts of the config file/);
  const hitsBefore = recv.hits.filter((h) => h.query.get('appid') === 'wxcbhost').length;
  const value = await s.api.value('wxcbhost', 0);
  const forced = await s.api.post('/task/wxcbhost/0/refresh', { stale: value });
  assert.is(forced.status, 200, forced.text);
  assert.is.not(forced.body.result, value, 'a new value was fetched, so a notify was due');
  await waitFor(
    'the skipped notify to be logged',
    () => s.logs().some((l) => l.msg === 'notify skipped: its host is not in callbackHosts of the config file'),
    30_000,
  );
  assert.is(
    recv.hits.filter((h) => h.query.get('appid') === 'wxcbhost').length,
    hitsBefore,
    'the receiver was not called',
  );
  // A pattern match: a subdomain is allowed, the bare domain is not.
  const sub = await s.api.register({
    appid: 'wxcbsub',
    appsecret: 'secret-sub',
    tasks: [{ type: 0, notify: 'https://biz.example.com/notify' }],
  });
  assert.is(sub.status, 200, sub.text);
  const bare = await s.api.register({
    appid: 'wxcbsub',
    appsecret: 'secret-sub',
    tasks: [{ type: 0, notify: 'https://example.com/notify' }],
  });
  assert.is(bare.status, 400, bare.text);
});

test.run();

// Issue 15: every answer in the envelope. Requests Node's HTTP server would
// answer itself without a body (no Host, an unknown Expect) or drop
// (CONNECT), and a full disk (507 "The data directory is full", not 500).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rawBytes, rawRequest } from './helpers/security-raw.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const TOKEN = 'odd-requests-token';
let sim: Sim;
let srv: RunningServer;
let mounted: string | null = null;

test.before(async () => {
  sim = await startSim();
  srv = await startServer({ wechatApi: sim.url, workers: 1, args: ['--token', TOKEN], token: TOKEN });
});
test.after(async () => {
  await srv.stop();
  if (mounted) execFileSync('umount', ['-l', mounted]);
  await stopAll();
  await sim.close();
});

const cases: Array<{ name: string; bytes: string; status: number; message: RegExp }> = [
  { name: 'HTTP/1.1 without Host', bytes: 'GET /healthz HTTP/1.1\r\n\r\n', status: 400, message: /no Host header/ },
  {
    name: 'Expect other than 100-continue',
    bytes: 'POST /registe HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}',
    status: 417,
    message: /Expect: 200-ok is not supported; only "100-continue" is/,
  },
  {
    name: 'CONNECT',
    bytes: 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n',
    status: 405,
    message: /CONNECT is not allowed/,
  },
  {
    name: 'an unknown method',
    bytes: 'BREW /apps HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    status: 405,
    message: /method is not known/,
  },
  {
    name: 'a WebDAV method',
    bytes: `PROPFIND /apps HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
    status: 405,
    message: /Method PROPFIND is not allowed here/,
  },
];

for (const c of cases) {
  test(`${c.name}: ${c.status} in the envelope`, async () => {
    const r = await rawBytes(srv.url, c.bytes);
    assert.is(r.status, c.status, r.text);
    assert.ok(r.body, `an envelope: ${r.text}`);
    assert.is(r.body!.code, c.status);
    assert.match(r.body!.message, c.message);
    assert.is(r.body!.result, null);
  });
}

test('100-continue still works', async () => {
  const r = await rawRequest(srv.url, { method: 'GET', path: '/healthz', headers: { expect: '100-continue' } });
  assert.is(r.status, 200, r.text);
});

/** Fill the file system of `dir` up to its last byte. */
function fill(file: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(`${file}.${i}`, chunk);
    } catch {
      break;
    }
  }
  // The last bytes too.
  for (let i = 0; ; i++) {
    try {
      writeFileSync(`${file}.small${i}`, Buffer.alloc(512, 1));
    } catch {
      return;
    }
  }
}

test('a full disk: registrations get 507 "The data directory is full", values are still served, and space freed heals it', async () => {
  const mount = join(tempDir(), 'small-disk');
  mkdirSync(mount);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount], { stdio: 'ignore' });
  } catch (e) {
    console.log(`  skipped: cannot mount a tmpfs here (root is needed): ${(e as Error).message.split('\n')[0]}`);
    return;
  }
  mounted = mount;
  const full = await startServer({
    wechatApi: sim.url,
    workers: 1,
    dataDir: join(mount, 'data'),
    args: ['--token', TOKEN],
    token: TOKEN,
  });
  assert.is(
    (await full.api.register({ appid: 'wxfull0', appsecret: 'full-secret', tasks: [{ type: 0 }] })).status,
    200,
  );
  const value = await full.api.awaitValue('wxfull0', 0);
  fill(join(mount, 'filler'));

  const big = (i: number) => ({
    appid: `wxfull${i}`,
    appsecret: 's'.repeat(500),
    tasks: [{ type: 0, notify: `http://127.0.0.1:1/${'n'.repeat(1500)}` }],
  });
  let refused = null;
  for (let i = 1; i <= 3000 && !refused; i++) {
    const r = await full.api.register(big(i));
    if (r.status !== 200) refused = r;
  }
  assert.ok(refused, 'the disk filled up');
  assert.is(refused!.status, 507, refused!.text);
  assert.is(
    (refused!.body as { message: string }).message,
    'The data directory is full: nothing was stored. Free space on its disk and retry; values already fetched are still served.',
  );
  // The same through the Koa path (a gzip body).
  const gz = await rawRequest(full.url, {
    method: 'POST',
    path: '/registe',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify(big(9999))),
  });
  assert.is(gz.status, 507, gz.text);
  assert.is(await full.api.value('wxfull0', 0), value);
  await full.frontLinesIn();
  assert.not.ok(
    full.logs().some((l) => l.msg === 'unexpected error'),
    'no request ended in an unexpected error',
  );

  // Space again: writes work again.
  for (const f of execFileSync('ls', [mount], { encoding: 'utf8' })
    .split('\n')
    .filter((n) => n.startsWith('filler')))
    rmSync(join(mount, f));
  const again = await full.api.register(big(10_000));
  assert.is(again.status, 200, again.text);
  assert.is(await full.stop(), 0);
});

test.run();

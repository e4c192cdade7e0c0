// Issue 3: the small pieces the integration tests rely on, tested directly
// with edge cases that are awkward to reach over HTTP.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveConfig } from '../lib/config.js';
import { hostAllowed, isHostPattern } from '../lib/contract/callback-hosts.js';
import { Authenticator } from '../lib/front/auth.js';
import { isLoopback, ProxyTrust } from '../lib/front/client-address.js';
import { fenceSecrets } from '../lib/log.js';
import { parseSecretKeys, secretCodec } from '../lib/store/secret-codec.js';
import { at } from './helpers/must.js';

test('secret codec: AES-256-GCM round trip, fresh IV, tampering and wrong keys detected', () => {
  const k1 = randomBytes(32).toString('hex');
  const k2 = randomBytes(32).toString('base64url');
  const c1 = secretCodec(k1);
  const a = c1.encode('appsecret-ü-1');
  const b = c1.encode('appsecret-ü-1');
  assert.match(a, /^wsenc1:[0-9a-f]{12}:/);
  assert.is.not(a, b, 'a fresh IV each time');
  assert.is(c1.decode(a), 'appsecret-ü-1');
  assert.is(c1.rewrap!(a), null, 'already current');
  // Flip one byte of the ciphertext: GCM's tag refuses it.
  const parts = a.split(':');
  const body = Buffer.from(at(parts, 3, 'ciphertext part'), 'base64url');
  body.writeUInt8(body.readUInt8(0) ^ 1, 0);
  const tampered = [...parts.slice(0, 3), body.toString('base64url')].join(':');
  assert.throws(() => c1.decode(tampered), /does not decrypt with that key/);
  // Another ring that lacks the key names the key id it needs.
  assert.throws(() => secretCodec(k2).decode(a), new RegExp(`key id ${parts[1]}`));
  // Rotation: the new ring re-encrypts under its first key; the old key alone cannot read the result.
  const ring = secretCodec(`${k2},${k1}`);
  const rotated = ring.rewrap!(a)!;
  assert.is.not(rotated.split(':')[1], parts[1]);
  assert.is(ring.decode(rotated), 'appsecret-ü-1');
  assert.throws(() => c1.decode(rotated));
  // Turning encryption off.
  const off = secretCodec(`,${k2}`);
  assert.is(off.rewrap!(rotated), 'appsecret-ü-1');
  assert.is(off.rewrap!('plain'), null);
});

test('secret codec without a key: plain, but a secret that looks like ciphertext is escaped, and real ciphertext is refused', () => {
  const plain = secretCodec(undefined);
  assert.is(plain.encode('abc'), 'abc');
  const tricky = 'wsenc1:abcdefabcdef:AAAA:BBBB';
  assert.is(plain.decode(plain.encode(tricky)), tricky, 'a hostile appsecret cannot pose as ciphertext');
  assert.is(plain.rewrap!(plain.encode(tricky)), null);
  const enc = secretCodec(randomBytes(32).toString('hex'));
  assert.throws(() => plain.rewrap!(enc.encode('x')), /WECHAT_SCHEDULER_SECRET_KEY is not set/);
  // With a key, the escaped plain form is read back correctly too (turning encryption on).
  assert.is(enc.decode(enc.rewrap!(plain.encode(tricky))!), tricky);
});

test('key ring parsing: hex or base64, 32 bytes; errors never quote the key', () => {
  const hex = randomBytes(32).toString('hex');
  assert.is(parseSecretKeys(hex).all.length, 1);
  assert.is(parseSecretKeys(`${randomBytes(32).toString('base64')},${hex}`).all.length, 2);
  assert.is(parseSecretKeys(`,${hex}`).current, null);
  for (const bad of [hex.slice(0, 62), randomBytes(16).toString('hex'), `${hex},nope`, '', ',']) {
    try {
      parseSecretKeys(bad);
      assert.unreachable(`accepted ${bad.length} characters`);
    } catch (e) {
      assert.match((e as Error).message, /32-byte keys/);
      if (bad.length > 8) assert.not.ok((e as Error).message.includes(bad.slice(0, 16)), 'key text not echoed');
    }
  }
});

test('callbackHosts patterns', () => {
  const list = ['biz.example.com', '*.internal.example.com', '10.0.0.5:8080', '[fd00::5]'];
  const ok = (u: string) => hostAllowed(new URL(u), list);
  assert.ok(ok('https://biz.example.com/cb'));
  assert.ok(ok('http://BIZ.example.com:9000/cb'), 'any port without one in the pattern; case-insensitive');
  assert.ok(ok('http://a.internal.example.com/'));
  assert.ok(ok('http://a.b.internal.example.com/'));
  assert.not.ok(ok('http://internal.example.com/'), 'the bare domain is not a subdomain');
  assert.not.ok(ok('http://evilinternal.example.com/'));
  assert.not.ok(ok('http://biz.example.com.evil.net/'));
  assert.ok(ok('http://10.0.0.5:8080/'));
  assert.not.ok(ok('http://10.0.0.5/'), 'default port 80 is not 8080');
  assert.not.ok(ok('http://10.0.0.5:8081/'));
  assert.ok(ok('http://[fd00::5]:1234/'));
  assert.not.ok(ok('http://user@evil.net/?biz.example.com'));
  assert.ok(hostAllowed(new URL('http://anything/'), undefined), 'no list: any host');
  for (const p of ['', 'http://x', 'a b', 'x:99999', '*.', 'a/b']) assert.not.ok(isHostPattern(p), p);
});

test('client address: loopback, IPv4-mapped, trusted proxies read X-Forwarded-For from the right', () => {
  for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', 'localhost', '', undefined])
    assert.not.ok(isLoopback(a), String(a));
  const none = new ProxyTrust([]);
  assert.is(none.clientAddress('127.0.0.1', '203.0.113.1'), '127.0.0.1', 'ignored without trusted proxies');
  const t = new ProxyTrust(['127.0.0.1', '10.0.0.0/8']);
  assert.is(t.clientAddress('::ffff:127.0.0.1', '203.0.113.1'), '203.0.113.1');
  assert.is(
    t.clientAddress('127.0.0.1', '127.0.0.1, 203.0.113.1, 10.1.2.3'),
    '203.0.113.1',
    'skips trusted hops from the right only',
  );
  assert.is(t.clientAddress('127.0.0.1', '10.1.1.1, 10.2.2.2'), '10.1.1.1', 'all trusted: the leftmost');
  assert.is(t.clientAddress('192.0.2.9', '127.0.0.1'), '192.0.2.9', 'an untrusted peer cannot vouch');
  assert.is(t.clientAddress('127.0.0.1', 'garbage'), 'garbage');
  assert.not.ok(isLoopback(t.clientAddress('127.0.0.1', 'garbage')));
});

test('Authenticator: Bearer parsing, constant-time match, protected mode', () => {
  const auth = new Authenticator([
    { token: 'tok-a', readOnly: false },
    { token: 'tok-b', appids: ['wx1'], readOnly: true },
  ]);
  assert.is(auth.check('Bearer tok-b', '10.0.0.1').rule?.appids?.[0], 'wx1');
  assert.ok(auth.check('bearer   tok-a  ', '10.0.0.1').ok, 'scheme case-insensitive, spaces tolerated');
  for (const h of [undefined, '', 'Bearer', 'Bearer tok-a tok-b', 'Basic tok-a', 'Bearer tok-', 'Bearer tok-aa']) {
    const o = auth.check(h, '127.0.0.1');
    assert.not.ok(o.ok, String(h));
    assert.is(o.error?.status, 401);
    assert.is(o.error?.headers['WWW-Authenticate'], 'Bearer');
  }
  const open = new Authenticator([]);
  assert.ok(open.check(undefined, '::1').ok);
  assert.is(open.check(undefined, '10.0.0.1').error?.status, 403);
  assert.is(new Authenticator([], ['127.0.0.1']).check(undefined, '127.0.0.1', '198.51.100.1').error?.status, 403);
});

test('config: security settings are validated at the edge with one clear line', () => {
  const env = {};
  const tmp = join(tmpdir(), `ws-sec-units-${process.pid}.json`);
  const cfg = (file: object) => {
    writeFileSync(tmp, JSON.stringify(file));
    return resolveConfig({ configFile: tmp }, env);
  };
  assert.equal(cfg({ trustedProxy: '127.0.0.1, 10.0.0.0/8' }).trustedProxy, ['127.0.0.1', '10.0.0.0/8']);
  assert.equal(cfg({ callbackHosts: ['biz.example.com'] }).callbackHosts, ['biz.example.com']);
  assert.throws(() => cfg({ trustedProxy: ['localhost'] }), /invalid trustedProxy/);
  assert.throws(() => cfg({ trustedProxy: ['10.0.0.0/33'] }), /invalid trustedProxy/);
  assert.throws(() => cfg({ callbackHosts: [] }), /invalid callbackHosts/);
  assert.throws(() => cfg({ callbackHosts: ['http://biz.example.com'] }), /invalid callbackHosts/);
  assert.throws(
    () => cfg({ secretKey: 'x' }),
    /unknown setting "secretKey"/,
    'the key is not accepted from the config file',
  );
  assert.throws(() => cfg({ tokens: [{ token: 'has space' }] }), /printable ASCII without spaces/);
  assert.throws(() => resolveConfig({ token: 'tök' }, env), /printable ASCII/);
  assert.throws(() => resolveConfig({}, { WECHAT_SCHEDULER_SECRET_KEY: 'short' }), /32-byte keys/);
  const key = randomBytes(32).toString('hex');
  assert.is(resolveConfig({}, { WECHAT_SCHEDULER_SECRET_KEY: key }).secretKey, key);
  rmSync(tmp);
});

test("log lines: secret fields are censored at the top and one level down, and the caller's object is left alone", () => {
  const fields = { appid: 'wx1', appsecret: 'S1', app: { secret: 'S2', name: 'n' }, list: [{ secret: 'kept' }] };
  const out = fenceSecrets(fields);
  assert.equal(out, {
    appid: 'wx1',
    appsecret: '[secret]',
    app: { secret: '[secret]', name: 'n' },
    list: [{ secret: 'kept' }],
  });
  assert.is(fields.appsecret, 'S1', 'the logged object is copied, not changed');
  assert.is(fields.app.secret, 'S2');
  const err = Object.assign(new Error('refused'), { secret: 'S3' });
  const logged = fenceSecrets({ err }).err as Error & { secret: string };
  assert.instance(logged, Error);
  assert.is(logged.message, 'refused', 'an error keeps its message');
  assert.is(logged.secret, '[secret]');
  assert.is(err.secret, 'S3');
  const plain = { appid: 'wx1', status: 200, note: { tasks: ['0'] } };
  assert.is(fenceSecrets(plain), plain, 'no copy without a secret field');
});

test('log lines: the logger itself applies the fence, to fields and to bindings', () => {
  const script = [
    "import { createLogger } from './lib/log.ts';",
    "const log = createLogger('info', { authorization: 'Bearer B1' });",
    "log.info({ appsecret: 'S1', app: { secret: 'S2' }, authorization: 'Bearer B2', ok: 1 }, 'line');",
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  });
  for (const secret of ['S1', 'S2', 'B1', 'B2']) assert.not.ok(out.includes(secret), `${secret} in ${out}`);
  const line = JSON.parse(out.trim()) as Record<string, unknown>;
  assert.is(line.appsecret, '[secret]');
  assert.is(line.ok, 1);
  assert.is(line.msg, 'line');
});

test.run();

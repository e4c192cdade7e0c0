// WeChat's message crypto and the flat XML reader, checked against messages
// encrypted by another implementation: the fixture of wechatpy's
// tests/test_crypto.py (github.com/wechatpy/wechatpy, commit 3d560725),
// test_decrypt_message and test_encrypt_message, which use WeChat's scheme
// (the WeCom variant is the same bytes: corp_id in the appid's place).
import { createCipheriv } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FlatXmlError, parseFlatXml } from '../lib/wechat/flat-xml.js';
import { isEncodingAesKey, MsgCrypto, MsgCryptoError, msgSignature } from '../lib/wechat/msg-crypto.js';

const TOKEN = '123456';
const AES_KEY = 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR';
const APPID = 'wx49f0ab532d5d035a';

// test_decrypt_message: WeChat's push, its signature, timestamp and nonce.
const PUSHED = `<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>
<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>
<AgentID><![CDATA[1]]></AgentID>
</xml>`;
const PUSHED_SIGNATURE = '74d92dfeb87ba7c714f89d98870ae5eb62dff26d';
const TIMESTAMP = '1411525903';
const NONCE = '461056294';

// test_encrypt_message: the reply, the random prefix its mock uses, and the expected ciphertext and signature.
const REPLY = `<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>`;
const REPLY_RANDOM = Buffer.from('1234567890123456');
const REPLY_ENCRYPTED =
  '9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3';
const REPLY_SIGNATURE = '407518b7649e86ef23978113f92d27afa9296533';

const crypto = new MsgCrypto(TOKEN, AES_KEY, APPID);

test("wechatpy's pushed message: signature verified, decrypted, fields read", () => {
  const encrypt = parseFlatXml(PUSHED).get('Encrypt') ?? '';
  assert.ok(crypto.verify(PUSHED_SIGNATURE, TIMESTAMP, NONCE, encrypt));
  assert.ok(!crypto.verify(PUSHED_SIGNATURE, TIMESTAMP, '437374424', encrypt), 'another nonce');
  const inner = parseFlatXml(crypto.decrypt(encrypt));
  assert.is(inner.get('Content'), 'test');
  assert.is(inner.get('FromUserName'), 'messense');
});

test("encrypting wechatpy's reply with its random prefix gives its ciphertext and signature byte for byte", () => {
  const encrypted = crypto.encrypt(REPLY, REPLY_RANDOM);
  assert.is(encrypted, REPLY_ENCRYPTED);
  assert.is(msgSignature(TOKEN, TIMESTAMP, NONCE, encrypted), REPLY_SIGNATURE);
  assert.is(crypto.decrypt(encrypted), REPLY);
});

test('round trip of messages of every padding length (1 to 32 bytes)', () => {
  for (let n = 0; n < 40; n++) {
    const msg = `<xml><A>${'x'.repeat(n)}</A></xml>`;
    assert.is(crypto.decrypt(crypto.encrypt(msg)), msg, `length ${n}`);
  }
});

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof MsgCryptoError) return e.reason;
    throw e;
  }
  return 'no error';
}

test('refused: another appid, truncated, non-base64, bad padding, wrong key', () => {
  const good = crypto.encrypt('<xml><A>1</A></xml>');
  assert.is(
    reason(() => new MsgCrypto(TOKEN, AES_KEY, 'wxother').decrypt(good)),
    'wrong_appid',
  );
  assert.is(
    reason(() => crypto.decrypt(good.slice(0, 40))),
    'bad_ciphertext',
    'truncated to a non-block length',
  );
  assert.is(
    reason(() => crypto.decrypt(good.slice(0, -4))),
    'bad_ciphertext',
    'truncated by whole base64 quads',
  );
  assert.is(
    reason(() => crypto.decrypt('not*base64!')),
    'bad_ciphertext',
  );
  assert.is(
    reason(() => crypto.decrypt('')),
    'bad_ciphertext',
  );
  // A ciphertext of the right length whose last block is random: its padding byte is (almost surely) wrong.
  const cipher = Buffer.from(good, 'base64');
  cipher.writeUInt8(cipher.readUInt8(cipher.length - 20) ^ 0xff, cipher.length - 20);
  const r = reason(() => crypto.decrypt(cipher.toString('base64')));
  assert.ok(r === 'bad_padding' || r === 'bad_plaintext' || r === 'wrong_appid', r);
  // Well-formed blocks whose last byte says 0 or 33 bytes of padding: not PKCS#7 to 32.
  const key = Buffer.from(`${AES_KEY}=`, 'base64');
  for (const last of [0, 33]) {
    const plain = Buffer.alloc(64, 7);
    plain[63] = last;
    const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
    const forged = Buffer.concat([c.update(plain), c.final()]).toString('base64');
    assert.is(
      reason(() => crypto.decrypt(forged)),
      'bad_padding',
      `padding byte ${last}`,
    );
  }
  const otherKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
  const r2 = reason(() => new MsgCrypto(TOKEN, otherKey, APPID).decrypt(good));
  assert.ok(r2 !== 'no error', 'another key never decrypts to the message');
});

test('encoding_aes_key: 43 characters of base64', () => {
  assert.ok(isEncodingAesKey(AES_KEY));
  assert.not.ok(isEncodingAesKey(AES_KEY.slice(1)));
  assert.not.ok(isEncodingAesKey(`${AES_KEY.slice(1)}*`));
  assert.throws(() => new MsgCrypto(TOKEN, 'short', APPID), /43 characters/);
});

function xmlError(xml: string): string {
  try {
    parseFlatXml(xml);
  } catch (e) {
    if (e instanceof FlatXmlError) return e.message;
    throw e;
  }
  return 'no error';
}

test('flat XML: declarations, entity bombs, nesting and oversized input are refused', () => {
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><xml><Encrypt>&lol2;</Encrypt></xml>`;
  assert.match(xmlError(bomb), /DOCTYPE or ENTITY/);
  assert.match(xmlError('<xml><A><B>1</B></A></xml>'), /flat text elements/);
  assert.match(xmlError('<xml><A>1</B></xml>'), /flat text elements/);
  assert.match(xmlError('<notxml/>'), /one <xml> element/);
  assert.match(xmlError(`<xml><A>${'x'.repeat(70_000)}</A></xml>`), /longer than/);
  assert.match(xmlError('<xml><A>&unknown;</A></xml>'), /predefined entities/);
  const ok = parseFlatXml('<?xml version="1.0"?>\n<xml>\n <A><![CDATA[a<b]]></A>\n <B>x &amp; y</B><C></C>\n</xml>\n');
  assert.equal(
    [...ok],
    [
      ['A', 'a<b'],
      ['B', 'x & y'],
      ['C', ''],
    ],
  );
});

test.run();

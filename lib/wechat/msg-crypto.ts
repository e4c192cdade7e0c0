import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * WeChat's message encryption (消息加解密) for pushes to a third-party
 * platform: AES-256-CBC with the key base64(encoding_aes_key + "="), the IV
 * its first 16 bytes, PKCS#7 padding to 32-byte blocks; the plaintext is 16
 * random bytes, the message length (4 bytes, big-endian), the message and
 * the appid. Messages are signed with SHA-1 of the sorted token, timestamp,
 * nonce and ciphertext.
 */

const BLOCK = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const AES_KEY = /^[A-Za-z0-9+/]{43}$/;

/** Why a message could not be read; the sentence names what was wrong, never a secret. */
export class MsgCryptoError extends Error {
  constructor(
    readonly reason: 'bad_signature' | 'bad_ciphertext' | 'bad_padding' | 'bad_plaintext' | 'wrong_appid',
    message: string,
  ) {
    super(message);
    this.name = 'MsgCryptoError';
  }
}

/** Whether `s` is an EncodingAESKey: 43 characters of base64 that decode to 32 bytes. */
export function isEncodingAesKey(s: string): boolean {
  return AES_KEY.test(s) && Buffer.from(`${s}=`, 'base64').length === 32;
}

export function msgSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

export class MsgCrypto {
  private readonly key: Buffer;
  private readonly iv: Buffer;

  constructor(
    private readonly token: string,
    encodingAesKey: string,
    private readonly appid: string,
  ) {
    if (!isEncodingAesKey(encodingAesKey)) throw new RangeError('encoding_aes_key must be 43 characters of base64.');
    this.key = Buffer.from(`${encodingAesKey}=`, 'base64');
    this.iv = this.key.subarray(0, 16);
  }

  /** Constant-time check of a msg_signature. */
  verify(signature: string, timestamp: string, nonce: string, encrypt: string): boolean {
    const want = Buffer.from(msgSignature(this.token, timestamp, nonce, encrypt), 'latin1');
    const got = Buffer.from(signature.toLowerCase(), 'latin1');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** The message inside `encrypt`; throws MsgCryptoError when it is not one for this appid. */
  decrypt(encrypt: string): string {
    if (encrypt.length % 4 !== 0 || !BASE64.test(encrypt))
      throw new MsgCryptoError('bad_ciphertext', 'Encrypt is not base64.');
    const cipher = Buffer.from(encrypt, 'base64');
    if (cipher.length < BLOCK || cipher.length % 16 !== 0)
      throw new MsgCryptoError('bad_ciphertext', 'Encrypt is not a whole number of AES blocks.');
    const d = createDecipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    const plain = Buffer.concat([d.update(cipher), d.final()]);
    const pad = plain[plain.length - 1] ?? 0;
    if (pad < 1 || pad > BLOCK || pad > plain.length || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
      throw new MsgCryptoError(
        'bad_padding',
        'Encrypt does not decrypt to a padded message with this encoding_aes_key.',
      );
    }
    const body = plain.subarray(16, plain.length - pad);
    if (body.length < 4) throw new MsgCryptoError('bad_plaintext', 'The decrypted message is too short.');
    const len = body.readUInt32BE(0);
    if (len > body.length - 4)
      throw new MsgCryptoError('bad_plaintext', 'The decrypted message length is out of range.');
    const appid = body.subarray(4 + len).toString('utf8');
    if (appid !== this.appid) throw new MsgCryptoError('wrong_appid', 'The message was encrypted for another appid.');
    return body.subarray(4, 4 + len).toString('utf8');
  }

  /** `message` encrypted for this appid; `random` (16 bytes) only to reproduce a known ciphertext. */
  encrypt(message: string, random: Buffer = randomBytes(16)): string {
    const msg = Buffer.from(message, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(msg.length, 0);
    const body = Buffer.concat([random, len, msg, Buffer.from(this.appid, 'utf8')]);
    const pad = BLOCK - (body.length % BLOCK);
    const c = createCipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    return Buffer.concat([c.update(Buffer.concat([body, Buffer.alloc(pad, pad)])), c.final()]).toString('base64');
  }

  sign(timestamp: string, nonce: string, encrypt: string): string {
    return msgSignature(this.token, timestamp, nonce, encrypt);
  }
}

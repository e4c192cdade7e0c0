import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError } from '../contract/errors.js';
import type { SecretCodec } from './sqlite-store.js';

/**
 * Appsecrets at rest (docs/api.md §7, docs/security.md).
 *
 * Without a key they are stored as given. With WECHAT_SCHEDULER_SECRET_KEY
 * they are stored as `wsenc1:<key id>:<iv>:<ciphertext+tag>`, AES-256-GCM
 * with a fresh 96-bit IV each time. The variable holds a key ring,
 * comma-separated: the first key encrypts, every key decrypts; an empty
 * first entry means "store plain again" (turning encryption off). At start
 * every secret not in the current form is rewritten (`rewrap`), which is
 * how a key rotation completes.
 */
const ENC = 'wsenc1:';
/** A plain secret that happens to start like our own formats is escaped with this. */
const ESC = 'wsplain:';
const KEY_HELP =
  'WECHAT_SCHEDULER_SECRET_KEY must be one or more comma-separated 32-byte keys, each as 64 hex characters or base64 (make one with: openssl rand -hex 32)';

export interface SecretKey {
  id: string;
  key: Buffer;
}

/** Short public name of a key, stored beside each ciphertext so the right key is found. */
function keyId(key: Buffer): string {
  return createHash('sha256').update('wechat-scheduler key id\0').update(key).digest('hex').slice(0, 12);
}

function parseKey(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-f]{64}$/i.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === 32) return b;
  }
  return null;
}

/** Parse the key ring; `current` is null when the first entry is empty (write plain). */
export function parseSecretKeys(text: string): { current: SecretKey | null; all: SecretKey[] } {
  const parts = text.split(',');
  const all: SecretKey[] = [];
  parts.forEach((p, i) => {
    if (p.trim() === '' && i === 0 && parts.length > 1) return;
    const key = parseKey(p);
    // Never repeat the offending text: it may be most of a real key.
    if (!key) throw new ConfigError(`${KEY_HELP}; entry ${i + 1} is not one`);
    all.push({ id: keyId(key), key });
  });
  const current = (parts[0] ?? '').trim() === '' ? null : (all[0] ?? null);
  return { current, all };
}

function b64(b: Buffer): string {
  return b.toString('base64url');
}

function plainEncode(plain: string): string {
  return plain.startsWith(ENC) || plain.startsWith(ESC) ? ESC + plain : plain;
}

function plainDecode(stored: string): string {
  return stored.startsWith(ESC) ? stored.slice(ESC.length) : stored;
}

function encrypt(k: SecretKey, plain: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', k.key, iv);
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
  return `${ENC}${k.id}:${b64(iv)}:${b64(body)}`;
}

function decrypt(keys: SecretKey[], stored: string): string {
  const [id, iv, body] = stored.slice(ENC.length).split(':');
  const k = keys.find((x) => x.id === id);
  if (!k) {
    throw new Error(
      `the store holds appsecrets encrypted with key id ${id}, which WECHAT_SCHEDULER_SECRET_KEY does not hold; add that key to the ring (see docs/security.md)`,
    );
  }
  const raw = Buffer.from(body ?? '', 'base64url');
  if (raw.length < 16) throw new Error(`an appsecret encrypted with key id ${id} is damaged`);
  const d = createDecipheriv('aes-256-gcm', k.key, Buffer.from(iv ?? '', 'base64url'));
  d.setAuthTag(raw.subarray(raw.length - 16));
  try {
    return Buffer.concat([d.update(raw.subarray(0, raw.length - 16)), d.final()]).toString('utf8');
  } catch {
    throw new Error(
      `an appsecret encrypted with key id ${id} does not decrypt with that key (wrong key or damaged data)`,
    );
  }
}

/** The codec for a store, from the key ring text (undefined = no encryption). */
export function secretCodec(keyText: string | undefined): SecretCodec {
  if (keyText === undefined) {
    return {
      encode: plainEncode,
      decode(stored) {
        if (stored.startsWith(ENC))
          throw new Error('the store holds encrypted appsecrets but WECHAT_SCHEDULER_SECRET_KEY is not set');
        return plainDecode(stored);
      },
      // Only rows that look encrypted can need attention (and they are an error).
      rewrapScope: { prefix: ENC, starts: true },
      rewrap(stored) {
        if (stored.startsWith(ENC)) {
          throw new Error(
            'the store holds encrypted appsecrets but WECHAT_SCHEDULER_SECRET_KEY is not set; start with the key (or with ",<key>" to store them plain again)',
          );
        }
        return null;
      },
    };
  }
  const { current, all } = parseSecretKeys(keyText);
  const decode = (stored: string) => (stored.startsWith(ENC) ? decrypt(all, stored) : plainDecode(stored));
  const encode = (plain: string) => (current ? encrypt(current, plain) : plainEncode(plain));
  return {
    encode,
    decode,
    // Rows already under the current key are skipped without being read into JS.
    rewrapScope: current ? { prefix: `${ENC}${current.id}:`, starts: false } : { prefix: ENC, starts: true },
    rewrap(stored) {
      if (current ? stored.startsWith(`${ENC}${current.id}:`) : !stored.startsWith(ENC)) return null;
      return encode(decode(stored));
    },
  };
}

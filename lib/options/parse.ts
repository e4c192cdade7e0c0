import { isHostPattern } from '../contract/callback-hosts.js';
import { ConfigError } from '../contract/errors.js';
import { isAddressOrRange } from '../front/client-address.js';
import { parseSecretKeys } from '../store/secret-codec.js';
import { parseStoreLocation, StoreLocation } from '../store/store-url.js';

/**
 * Readers of one option value as it comes from a flag, the environment
 * (strings) or the config file (any JSON): each checks it once and returns
 * the typed value, or throws a ConfigError of one line. `name` is how the
 * message names the setting (its flag, config key or env name).
 */
export type Parser<T> = (v: unknown, name: string) => T;

/** An API token and what it may do (docs/api.md §7). */
export interface ApiTokenRule {
  token: string;
  /** Appids this token may touch; undefined = all. */
  appids?: string[];
  readOnly: boolean;
}

export function int(min: number, max: number): Parser<number> {
  return (v, name) => {
    const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < min || n > max)
      throw new ConfigError(`invalid ${name} "${String(v)}": must be an integer from ${min} to ${max}`);
    return n;
  };
}

export const str: Parser<string> = (v, name) => {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`invalid ${name}: must be a non-empty string`);
  return v;
};

export const bool: Parser<boolean> = (v, name) => {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`invalid ${name} "${String(v)}": must be true or false`);
};

/** A token must be sendable as `Authorization: Bearer <token>`; say so at start rather than answer 401 forever. */
function checkTokenText(token: string, where: string): string {
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new ConfigError(`invalid ${where}: an API token must be printable ASCII without spaces`);
  return token;
}

/** `a,b` from a flag or the environment; strings or `{token, appids?, readOnly?}` from the config file. */
export const tokenRules: Parser<ApiTokenRule[]> = (v) => {
  if (v === undefined) return [];
  if (typeof v === 'string') {
    return v
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((token) => ({ token: checkTokenText(token, 'token'), readOnly: false }));
  }
  if (!Array.isArray(v)) throw new ConfigError('invalid tokens: must be a comma-separated string or an array');
  return v.map((item: unknown, i) => {
    if (typeof item === 'string' && item !== '')
      return { token: checkTokenText(item, `tokens[${i}]`), readOnly: false };
    if (typeof item !== 'object' || item === null)
      throw new ConfigError(`invalid tokens[${i}]: must be a string or {token, appids?, readOnly?}`);
    const r = item as Record<string, unknown>;
    const token = str(r.token, `tokens[${i}].token`);
    checkTokenText(token, `tokens[${i}].token`);
    let appids: string[] | undefined;
    if (r.appids !== undefined) {
      if (!Array.isArray(r.appids) || !r.appids.every((a) => typeof a === 'string')) {
        throw new ConfigError(`invalid tokens[${i}].appids: must be an array of appids`);
      }
      appids = r.appids as string[];
    }
    return { token, appids, readOnly: r.readOnly === undefined ? false : bool(r.readOnly, `tokens[${i}].readOnly`) };
  });
};

export const httpUrl: Parser<string> = (v, name) => {
  const s = str(v, name);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(`invalid ${name} "${s}": must be an absolute http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError(`invalid ${name} "${s}": must be an absolute http(s) URL`);
  return s.replace(/\/+$/, '');
};

export const addressList: Parser<string[]> = (v, name) => {
  const list =
    typeof v === 'string'
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && isAddressOrRange(x))) {
    throw new ConfigError(`invalid ${name}: must be an IP address, a CIDR range like 10.0.0.0/8, or a list of them`);
  }
  return list as string[];
};

export const hostList: Parser<string[]> = (v, name) => {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && isHostPattern(x))) {
    throw new ConfigError(
      `invalid ${name}: must be a non-empty list of host names like "biz.example.com", "*.example.com" or "10.0.0.5:8080"`,
    );
  }
  return v as string[];
};

export const secretKeyRing: Parser<string> = (v, name) => {
  const s = str(v, name);
  parseSecretKeys(s); // throws a ConfigError that never repeats the key
  return s;
};

export const compatMode: Parser<'v0'> = (v, name) => {
  if (v !== 'v0')
    throw new ConfigError(
      `invalid ${name} "${String(v)}": the only mode is "v0" (answers as the original Go server gave them)`,
    );
  return v;
};

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const logLevel: Parser<string> = (v, name) => {
  const s = str(v, name);
  if (!LEVELS.includes(s)) throw new ConfigError(`invalid ${name} "${s}": must be one of ${LEVELS.join(', ')}`);
  return s;
};

/**
 * The server's store. `sqlite:<dir>` is refused here: the server keeps its
 * SQLite file in --data-dir, and one directory named in two places could
 * disagree.
 */
export const serverStore: Parser<StoreLocation> = (v, name) => {
  const location = parseStoreLocation(str(v, name), name);
  if (location.kind === 'sqlite' && location.dir !== undefined)
    throw new ConfigError(
      `invalid ${name} "sqlite:${location.dir}": the server keeps SQLite in its data directory; use --store sqlite with --data-dir ${location.dir}`,
    );
  return location;
};

/** Names that go into Redis keys, log lines and /cluster unquoted: no spaces, no control characters. */
const NAME = /^[A-Za-z0-9._:@-]{1,128}$/;
export const plainName: Parser<string> = (v, name) => {
  const s = str(v, name);
  if (!NAME.test(s))
    throw new ConfigError(`invalid ${name} "${s}": must be 1 to 128 letters, digits or . _ : @ - (no spaces)`);
  return s;
};

/** `<hostname>-<pid>` made to fit plainName, whatever the host is called. */
export function defaultInstanceId(hostname: string, pid: number): string {
  const host = hostname.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 'host';
  return `${host}-${pid}`;
}

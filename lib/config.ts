import { readFileSync } from 'node:fs';
import os from 'node:os';
import { isHostPattern } from './contract/callback-hosts.js';
import { ConfigError } from './contract/errors.js';
import { isAddressOrRange } from './front/client-address.js';
import { parseSecretKeys } from './store/secret-codec.js';

/** An API token and what it may do (docs/api.md §7). */
export interface ApiTokenRule {
  token: string;
  /** Appids this token may touch; undefined = all. */
  appids?: string[];
  readOnly: boolean;
}

/** The fully resolved settings one front generation runs with. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  wechatApi: string;
  tokens: ApiTokenRule[];
  configFile?: string;
  workers: number;
  logLevel: string;
  /** Bound on every WeChat call (connect + answer). */
  wechatTimeoutMs: number;
  /** Bound on every notify / params call. */
  callbackTimeoutMs: number;
  /** Forced refreshes without `stale` fetch at most once per task per this interval. */
  refreshMinIntervalMs: number;
  /** Outbound WeChat calls in flight at once, per shard. */
  wechatConcurrency: number;
  /** When set, notify callbacks are signed with HMAC-SHA256 (see README). */
  notifySecret?: string;
  /** Use stable_token for every type 0 task. */
  stableToken: boolean;
  /** stable_token force_refresh calls allowed per appid per Beijing day (WeChat: 20). */
  stableForceDailyLimit: number;
  /** Minimum seconds between two force_refresh calls of one appid (WeChat: 30). */
  stableForceIntervalSeconds: number;
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed; config file `trustedProxy`. */
  trustedProxy: string[];
  /** When set, notify/params URLs must name one of these hosts (config file `callbackHosts`). */
  callbackHosts?: string[];
  /** Appsecret encryption key ring, env WECHAT_SCHEDULER_SECRET_KEY only (see docs/security.md). */
  secretKey?: string;
  /** Heap limit of each shard thread, MB (config `shardHeapMb`): a shard over it is restored from the store alone. Unset: Node's default. */
  shardHeapMb?: number;
  /** `v0`: answer as the original Go server did (every answer HTTP 200, any Content-Type on /registe); config `compat`. */
  compat?: 'v0';
}

/** Options as they come from flags, env or the config file: all optional, unvalidated. */
export type RawOptions = Partial<Record<keyof Config | 'token', unknown>>;

export const DEFAULTS = {
  port: 9001,
  host: '0.0.0.0',
  dataDir: './data',
  wechatApi: 'https://api.weixin.qq.com',
  logLevel: 'info',
  wechatTimeoutMs: 10_000,
  callbackTimeoutMs: 5_000,
  refreshMinIntervalMs: 10_000,
  wechatConcurrency: 32,
  stableToken: false,
  stableForceDailyLimit: 20,
  stableForceIntervalSeconds: 30,
};

/** Environment variables mirror the flags (docs/api.md §1). */
const ENV: Array<[keyof RawOptions, string]> = [
  ['port', 'WECHAT_SCHEDULER_PORT'],
  ['host', 'WECHAT_SCHEDULER_HOST'],
  ['dataDir', 'WECHAT_SCHEDULER_DATA_DIR'],
  ['wechatApi', 'WECHAT_SCHEDULER_WECHAT_API'],
  ['token', 'WECHAT_SCHEDULER_TOKEN'],
  ['configFile', 'WECHAT_SCHEDULER_CONFIG'],
  ['workers', 'WECHAT_SCHEDULER_WORKERS'],
  ['logLevel', 'WECHAT_SCHEDULER_LOG_LEVEL'],
  ['wechatTimeoutMs', 'WECHAT_SCHEDULER_WECHAT_TIMEOUT'],
  ['refreshMinIntervalMs', 'WECHAT_SCHEDULER_REFRESH_INTERVAL'],
  ['notifySecret', 'WECHAT_SCHEDULER_NOTIFY_SECRET'],
  ['stableToken', 'WECHAT_SCHEDULER_STABLE_TOKEN'],
  ['secretKey', 'WECHAT_SCHEDULER_SECRET_KEY'],
  ['shardHeapMb', 'WECHAT_SCHEDULER_SHARD_HEAP_MB'],
  ['compat', 'WECHAT_SCHEDULER_COMPAT'],
];

export function envOptions(env: NodeJS.ProcessEnv): RawOptions {
  const out: RawOptions = {};
  for (const [key, name] of ENV) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

export function readConfigFile(file: string): RawOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the error, which may be a token: keep only what and where.
    const why = (e as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    throw new ConfigError(`config file ${file} is not valid JSON: ${why}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  const obj = parsed as Record<string, unknown>;
  const out: RawOptions = {};
  const known = new Set<string>([
    ...Object.keys(DEFAULTS),
    'dataDir',
    'tokens',
    'workers',
    'notifySecret',
    'port',
    'host',
    'trustedProxy',
    'callbackHosts',
    'shardHeapMb',
    'compat',
  ]);
  for (const [k, v] of Object.entries(obj)) {
    if (!known.has(k)) throw new ConfigError(`config file ${file}: unknown setting "${k}"`);
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function int(name: string, v: unknown, min: number, max: number): number {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^\d+$/.test(s))
    throw new ConfigError(`invalid ${name} "${String(v)}": must be an integer from ${min} to ${max}`);
  const n = Number(s);
  if (n < min || n > max)
    throw new ConfigError(`invalid ${name} "${String(v)}": must be an integer from ${min} to ${max}`);
  return n;
}

function str(name: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`invalid ${name}: must be a non-empty string`);
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`invalid ${name} "${String(v)}": must be true or false`);
}

/** A token must be sendable as `Authorization: Bearer <token>`; say so at start rather than answer 401 forever. */
function checkTokenText(token: string, where: string): string {
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new ConfigError(`invalid ${where}: an API token must be printable ASCII without spaces`);
  return token;
}

function tokenRules(v: unknown): ApiTokenRule[] {
  if (v === undefined) return [];
  if (typeof v === 'string') {
    return v
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((token) => ({ token: checkTokenText(token, 'token'), readOnly: false }));
  }
  if (!Array.isArray(v)) throw new ConfigError('invalid tokens: must be a comma-separated string or an array');
  return v.map((item, i) => {
    if (typeof item === 'string' && item !== '')
      return { token: checkTokenText(item, `tokens[${i}]`), readOnly: false };
    if (typeof item !== 'object' || item === null)
      throw new ConfigError(`invalid tokens[${i}]: must be a string or {token, appids?, readOnly?}`);
    const r = item as Record<string, unknown>;
    const token = str(`tokens[${i}].token`, r.token);
    checkTokenText(token, `tokens[${i}].token`);
    let appids: string[] | undefined;
    if (r.appids !== undefined) {
      if (!Array.isArray(r.appids) || !r.appids.every((a) => typeof a === 'string')) {
        throw new ConfigError(`invalid tokens[${i}].appids: must be an array of appids`);
      }
      appids = r.appids as string[];
    }
    return { token, appids, readOnly: r.readOnly === undefined ? false : bool(`tokens[${i}].readOnly`, r.readOnly) };
  });
}

function wechatApi(v: unknown): string {
  const s = str('wechat-api', v);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(`invalid wechat-api "${s}": must be an absolute http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError(`invalid wechat-api "${s}": must be an absolute http(s) URL`);
  return s.replace(/\/+$/, '');
}

/**
 * Merge the layers (later wins: defaults, config file, environment, flags)
 * and validate every value once, here at the edge.
 */
export function resolveConfig(flags: RawOptions, env: NodeJS.ProcessEnv): Config {
  const fromEnv = envOptions(env);
  const configFile = (flags.configFile ?? fromEnv.configFile) as string | undefined;
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const m: RawOptions = { ...fromFile, ...fromEnv, ...flags };
  const tokens = [...tokenRules(fromFile.tokens), ...tokenRules(fromEnv.token), ...tokenRules(flags.token)];
  return {
    port: m.port === undefined ? DEFAULTS.port : int('port', m.port, 0, 65535),
    host: m.host === undefined ? DEFAULTS.host : str('host', m.host),
    dataDir: m.dataDir === undefined ? DEFAULTS.dataDir : str('data-dir', m.dataDir),
    wechatApi: m.wechatApi === undefined ? DEFAULTS.wechatApi : wechatApi(m.wechatApi),
    tokens,
    configFile,
    workers: m.workers === undefined ? Math.max(1, os.availableParallelism()) : int('workers', m.workers, 1, 256),
    logLevel: m.logLevel === undefined ? DEFAULTS.logLevel : logLevel(m.logLevel),
    wechatTimeoutMs:
      m.wechatTimeoutMs === undefined
        ? DEFAULTS.wechatTimeoutMs
        : int('wechat-timeout', m.wechatTimeoutMs, 100, 600_000),
    callbackTimeoutMs:
      m.callbackTimeoutMs === undefined
        ? DEFAULTS.callbackTimeoutMs
        : int('callbackTimeoutMs', m.callbackTimeoutMs, 100, 600_000),
    refreshMinIntervalMs:
      m.refreshMinIntervalMs === undefined
        ? DEFAULTS.refreshMinIntervalMs
        : int('refresh-interval', m.refreshMinIntervalMs, 0, 86_400_000),
    wechatConcurrency:
      m.wechatConcurrency === undefined
        ? DEFAULTS.wechatConcurrency
        : int('wechatConcurrency', m.wechatConcurrency, 1, 10_000),
    notifySecret: m.notifySecret === undefined ? undefined : str('notify-secret', m.notifySecret),
    stableToken: m.stableToken === undefined ? DEFAULTS.stableToken : bool('stable-token', m.stableToken),
    stableForceDailyLimit:
      m.stableForceDailyLimit === undefined
        ? DEFAULTS.stableForceDailyLimit
        : int('stableForceDailyLimit', m.stableForceDailyLimit, 0, 1_000_000),
    stableForceIntervalSeconds:
      m.stableForceIntervalSeconds === undefined
        ? DEFAULTS.stableForceIntervalSeconds
        : int('stableForceIntervalSeconds', m.stableForceIntervalSeconds, 0, 86_400),
    trustedProxy: trustedProxies(m.trustedProxy),
    callbackHosts: m.callbackHosts === undefined ? undefined : callbackHostList(m.callbackHosts),
    // Only from the environment: a key in the config file would sit beside the data it protects.
    secretKey: fromEnv.secretKey === undefined ? undefined : checkedSecretKey(fromEnv.secretKey),
    shardHeapMb: m.shardHeapMb === undefined ? undefined : int('shardHeapMb', m.shardHeapMb, 16, 65_536),
    compat: m.compat === undefined ? undefined : compatMode(m.compat),
  };
}

function trustedProxies(v: unknown): string[] {
  if (v === undefined) return [];
  const list =
    typeof v === 'string'
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && isAddressOrRange(x))) {
    throw new ConfigError(
      'invalid trustedProxy: must be an IP address, a CIDR range like 10.0.0.0/8, or a list of them',
    );
  }
  return list as string[];
}

function callbackHostList(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && isHostPattern(x))) {
    throw new ConfigError(
      'invalid callbackHosts: must be a non-empty list of host names like "biz.example.com", "*.example.com" or "10.0.0.5:8080"',
    );
  }
  return v as string[];
}

function checkedSecretKey(v: unknown): string {
  const s = str('WECHAT_SCHEDULER_SECRET_KEY', v);
  parseSecretKeys(s); // throws a ConfigError that never repeats the key
  return s;
}

function compatMode(v: unknown): 'v0' {
  if (v !== 'v0')
    throw new ConfigError(
      `invalid compat "${String(v)}": the only mode is "v0" (answers as the original Go server gave them)`,
    );
  return v;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
function logLevel(v: unknown): string {
  const s = str('log-level', v);
  if (!LEVELS.includes(s)) throw new ConfigError(`invalid log-level "${s}": must be one of ${LEVELS.join(', ')}`);
  return s;
}

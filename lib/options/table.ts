import os from 'node:os';
import {
  addressList,
  bool,
  compatMode,
  defaultInstanceId,
  hostList,
  httpUrl,
  int,
  logLevel,
  plainName,
  secretKeyRing,
  serverStore,
  str,
  tokenRules,
} from './parse.js';
import { OptionSpec, StartFacts } from './spec.js';

/**
 * Every setting of the server, once. Layers, later wins: default, config
 * file, environment, flags (docs/api.md §1). The key is the setting's name
 * in the resolved Config and in the config file.
 */
export const OPTIONS = {
  port: {
    flag: { spec: '-p, --port <n>', help: 'HTTP port (env WECHAT_SCHEDULER_PORT)' },
    env: 'WECHAT_SCHEDULER_PORT',
    file: true,
    default: 9001,
    parse: int(0, 65535),
  },
  host: {
    flag: { spec: '--host <addr>', help: 'bind address (default 0.0.0.0)' },
    env: 'WECHAT_SCHEDULER_HOST',
    file: true,
    default: '0.0.0.0',
    parse: str,
  },
  dataDir: {
    flag: { spec: '--data-dir <dir>', help: 'where registrations and tokens are kept (default ./data)' },
    env: 'WECHAT_SCHEDULER_DATA_DIR',
    file: true,
    default: './data',
    parse: str,
    shards: true,
  },
  wechatApi: {
    flag: { spec: '--wechat-api <url>', help: 'base URL of the WeChat API (default https://api.weixin.qq.com)' },
    env: 'WECHAT_SCHEDULER_WECHAT_API',
    file: true,
    default: 'https://api.weixin.qq.com',
    parse: httpUrl,
    shards: true,
  },
  /** Every layer adds its tokens: a file's scoped tokens and the environment's admin token work together. */
  tokens: {
    flag: {
      spec: '--token <t>',
      help: 'API token(s), comma-separated; prefer env WECHAT_SCHEDULER_TOKEN or the config file: a command line is visible to every user',
      key: 'token',
    },
    env: 'WECHAT_SCHEDULER_TOKEN',
    file: true,
    default: () => [],
    parse: tokenRules,
    merge: (layers) => layers.flat(),
  },
  configFile: {
    flag: { spec: '--config <file>', help: 'JSON config file, re-read on SIGHUP; flags win over it' },
    env: 'WECHAT_SCHEDULER_CONFIG',
    parse: str,
  },
  workers: {
    flag: { spec: '--workers <n>', help: 'worker threads that own the apps (default: CPU count)' },
    env: 'WECHAT_SCHEDULER_WORKERS',
    file: true,
    default: () => Math.max(1, os.availableParallelism()),
    parse: int(1, 256),
  },
  logLevel: {
    flag: { spec: '--log-level <level>', help: 'trace, debug, info, warn, error, fatal or silent (default info)' },
    env: 'WECHAT_SCHEDULER_LOG_LEVEL',
    file: true,
    default: 'info',
    parse: logLevel,
    shards: true,
  },
  /** Bound on every WeChat call (connect + answer). */
  wechatTimeoutMs: {
    flag: { spec: '--wechat-timeout <ms>', help: 'bound on every WeChat call (default 10000)' },
    env: 'WECHAT_SCHEDULER_WECHAT_TIMEOUT',
    file: true,
    default: 10_000,
    parse: int(100, 600_000),
    shards: true,
  },
  /** Bound on every notify / params call. */
  callbackTimeoutMs: { file: true, default: 5_000, parse: int(100, 600_000), shards: true },
  /** Forced refreshes without `stale` fetch at most once per task per this interval. */
  refreshMinIntervalMs: {
    flag: {
      spec: '--refresh-interval <ms>',
      help: 'minimum interval between forced refreshes without "stale" (default 10000)',
    },
    env: 'WECHAT_SCHEDULER_REFRESH_INTERVAL',
    file: true,
    default: 10_000,
    parse: int(0, 86_400_000),
    shards: true,
  },
  /** Outbound WeChat calls in flight at once, per shard. */
  wechatConcurrency: { file: true, default: 32, parse: int(1, 10_000), shards: true },
  /** When set, notify callbacks are signed with HMAC-SHA256 (see README). */
  notifySecret: { env: 'WECHAT_SCHEDULER_NOTIFY_SECRET', file: true, parse: str, shards: true },
  /** Use stable_token for every type 0 task. */
  stableToken: {
    flag: { spec: '--stable-token', help: 'use /cgi-bin/stable_token for every type 0 task' },
    env: 'WECHAT_SCHEDULER_STABLE_TOKEN',
    file: true,
    default: false,
    parse: bool,
    shards: true,
  },
  /** stable_token force_refresh calls allowed per appid per Beijing day (WeChat: 20). */
  stableForceDailyLimit: { file: true, default: 20, parse: int(0, 1_000_000), shards: true },
  /** Minimum seconds between two force_refresh calls of one appid (WeChat: 30). */
  stableForceIntervalSeconds: { file: true, default: 30, parse: int(0, 86_400), shards: true },
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed. */
  trustedProxy: { file: true, default: () => [], parse: addressList },
  /** When set, notify/params URLs must name one of these hosts. */
  callbackHosts: { file: true, parse: hostList, shards: true },
  /** Appsecret encryption key ring (see docs/security.md); never from the config file, which sits beside the data it protects. */
  secretKey: { env: 'WECHAT_SCHEDULER_SECRET_KEY', parse: secretKeyRing, shards: true },
  /** Heap limit of each shard thread, MB: a shard over it is restored from the store alone. Unset: Node's default. */
  shardHeapMb: { env: 'WECHAT_SCHEDULER_SHARD_HEAP_MB', file: true, parse: int(16, 65_536) },
  /** `v0`: answer as the original Go server did (every answer HTTP 200, any Content-Type on /registe). */
  compat: { env: 'WECHAT_SCHEDULER_COMPAT', file: true, parse: compatMode },
  /** Where apps are kept: SQLite in the data directory, or a Redis shared by a cluster. */
  store: {
    flag: {
      spec: '--store <url>',
      help: 'sqlite (in --data-dir), or redis://[[user]:password@]host[:port][/db] / rediss://… shared by a cluster (default sqlite)',
    },
    env: 'WECHAT_SCHEDULER_STORE',
    file: true,
    default: { kind: 'sqlite' },
    parse: serverStore,
    shards: true,
  },
  /** Prefix of every Redis key, so deployments can share one Redis. */
  redisPrefix: {
    flag: { spec: '--redis-prefix <p>', help: 'prefix of every Redis key (default wechat-scheduler:)' },
    env: 'WECHAT_SCHEDULER_REDIS_PREFIX',
    file: true,
    default: 'wechat-scheduler:',
    parse: plainName,
    shards: true,
  },
  /**
   * This instance's name in /cluster, /apps and logs. The default is the
   * supervisor's host and pid, so it stays the same across reloads.
   */
  instanceId: {
    flag: {
      spec: '--instance-id <id>',
      help: "this instance's name in /cluster, /apps and logs (default <hostname>-<pid>)",
    },
    env: 'WECHAT_SCHEDULER_INSTANCE_ID',
    file: true,
    default: (facts: StartFacts) => defaultInstanceId(facts.hostname, facts.pid),
    parse: plainName,
    shards: true,
  },
  /** How long an instance owns its apps without renewing, ms. */
  leaseMs: {
    flag: { spec: '--lease-ms <n>', help: 'ownership lease in cluster mode, ms, at least 1000 (default 10000)' },
    env: 'WECHAT_SCHEDULER_LEASE_MS',
    file: true,
    default: 10_000,
    parse: int(1000, 3_600_000),
    shards: true,
  },
} as const satisfies Record<string, OptionSpec<unknown>>;

export type OptionName = keyof typeof OPTIONS;

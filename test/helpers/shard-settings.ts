// The settings of a shard thread run inside a test process (over the real
// SQLite store of `dataDir` and the simulator at `wechatApi`).
import { resolveConfig, shardOptions } from '../../lib/config.js';
import { ShardSettings } from '../../lib/contract/messages.js';

export function shardSettings(dataDir: string, wechatApi: string): ShardSettings {
  return {
    ...shardOptions(resolveConfig({}, {})),
    shardIndex: 0,
    shardCount: 1,
    dataDir,
    wechatApi,
    wechatTimeoutMs: 5_000,
    wechatConcurrency: 4,
    refreshMinIntervalMs: 0,
    logLevel: 'silent',
    frontLoad: new SharedArrayBuffer(4),
    writeLock: new SharedArrayBuffer(4),
  };
}

// A shard thread's work run inside a test process, over the real SQLite store
// of a temporary data directory and the simulator at `wechatApi`.
import { MessageChannel } from 'node:worker_threads';
import { resolveConfig, shardOptions } from '../../lib/config.js';
import { ShardSettings } from '../../lib/contract/messages.js';
import { validateRegistration } from '../../lib/contract/registration.js';
import { SqliteStore } from '../../lib/store/sqlite-store.js';
import { Shard } from '../../workers/shard.js';
import { tempDir } from './server.js';

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

/**
 * An owning shard with one type-0 app registered through it, and the
 * front's own connection to the same store (where registrations are written
 * and what the shard stored is read back). close() ends both.
 */
export async function shardWithApp(
  wechatApi: string,
  appid: string,
  appsecret: string,
): Promise<{ front: SqliteStore; shard: Shard; close(): Promise<void> }> {
  const dataDir = tempDir();
  const front = new SqliteStore(dataDir);
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  const shard = await Shard.open(shardSettings(dataDir, wechatApi), port2);
  await shard.activate();
  await shard.register([validateRegistration({ appid, appsecret, tasks: [{ type: 0 }] })], Date.now());
  return {
    front,
    shard,
    async close() {
      await shard.close();
      front.close();
    },
  };
}

import { ShardSettings } from '../lib/contract/messages.js';
import { LeaseTable } from '../lib/cluster/lease-table.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { Store } from '../lib/store/store.js';
import { WriteLock } from '../lib/store/write-lock.js';

/**
 * A shard thread's own connection to the store. In cluster mode every write
 * of a fetched value carries the fence of the slot's lease (from `leases`),
 * so that Redis refuses it once another instance took the slot over.
 */
export async function openShardStore(settings: ShardSettings, leases: LeaseTable | null): Promise<Store> {
  const codec = secretCodec(settings.secretKey);
  if (settings.store.kind === 'redis') {
    const { RedisStore } = await import('../lib/store/redis-store.js');
    return RedisStore.open({
      url: settings.store.url,
      display: settings.store.display,
      prefix: settings.redisPrefix,
      secrets: codec,
      fenceOf: (appid) => leases?.fenceOf(appid) ?? null,
    });
  }
  return new SqliteStore(settings.dataDir, codec, new WriteLock(settings.writeLock));
}

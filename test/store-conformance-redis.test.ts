// The Redis store through the same conformance suite as SQLite, on a real
// redis-server started for this file, once with plain secrets and once
// encrypted at rest. Each store gets a prefix of its own: a fresh, empty store.
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import { RedisStore } from '../lib/store/redis-store.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { Store } from '../lib/store/store.js';
import { storeConformance } from './helpers/store-conformance.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';

const missing = redisMissing();
if (missing) {
  console.log(`skipped: the Redis store conformance suite needs redis-server: ${missing}`);
} else {
  const redis: RunningRedis = await startRedis();
  let stores = 0;
  for (const [name, key] of [
    ['redis', undefined],
    ['redis, secrets encrypted', randomBytes(32).toString('hex')],
  ] as const) {
    const prefixes = new WeakMap<Store, string>();
    const open = async (prefix: string): Promise<Store> => {
      const store = await RedisStore.open({ url: redis.url, display: redis.url, prefix, secrets: secretCodec(key) });
      prefixes.set(store, prefix);
      return store;
    };
    storeConformance(name, {
      open: () => open(`conf${++stores}:`),
      async reopen(store) {
        await store.close();
        return open(prefixes.get(store)!);
      },
    });
  }
  // Runs after the suites above (uvu runs them in order).
  test.after(() => redis.stop());
  test('the redis-server of this file stops', () => undefined);
  test.run();
}

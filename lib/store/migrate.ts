import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../contract/errors.js';
import { SLOT_COUNT } from '../util/shard-of.js';
import { RedisStore } from './redis-store.js';
import { secretCodec } from './secret-codec.js';
import { SqliteStore, STORE_FILE } from './sqlite-store.js';
import { Store } from './store.js';
import { describeStore, sameStore, StoreLocation } from './store-url.js';

export interface MigrateOptions {
  from: StoreLocation;
  to: StoreLocation;
  /** Key prefix of a Redis side (--redis-prefix). */
  redisPrefix: string;
  /** WECHAT_SCHEDULER_SECRET_KEY: decodes the source's secrets and encodes the destination's. */
  secretKey?: string;
  /** The data directory of a `sqlite` side that names none. */
  dataDir: string;
}

/** Slots copied per step: bounds the memory of a copy of a million tasks. */
const SLOTS_PER_STEP = 32;

async function openStore(loc: StoreLocation, o: MigrateOptions, source: boolean): Promise<Store> {
  const secrets = secretCodec(o.secretKey);
  if (loc.kind === 'redis')
    return RedisStore.open({ url: loc.url, display: loc.display, prefix: o.redisPrefix, secrets });
  const dir = loc.dir ?? o.dataDir;
  // A mistyped source directory would otherwise be created empty and "copied" as nothing.
  if (source && !existsSync(path.join(dir, STORE_FILE)))
    throw new ConfigError(`migrate: there is no store to copy from in ${dir} (no ${STORE_FILE})`);
  return new SqliteStore(dir, secrets);
}

/**
 * Copy every app of one store into another exactly: secret, secret
 * generation, kept verify ticket, and each task's registration, value,
 * expiry, refresh token, state and counters (an expired value stays
 * expired). Nothing is fetched from WeChat. Each app replaces the
 * destination's app of the same appid, so running it again gives the same
 * result; apps only the destination has are left alone. Run it with the
 * servers of both stores stopped.
 */
export async function runMigrate(o: MigrateOptions): Promise<{ apps: number; tasks: number }> {
  // The CLI checks this too; a direct caller gets the same refusal.
  if (sameStore(o.from, o.to, o.dataDir))
    throw new ConfigError(
      `migrate: --from and --to are the same store (${describeStore(o.from, o.dataDir)}); name two different ones`,
    );
  const from = await openStore(o.from, o, true);
  try {
    const to = await openStore(o.to, o, false);
    try {
      let apps = 0;
      let tasks = 0;
      for (let first = 0; first < SLOT_COUNT; first += SLOTS_PER_STEP) {
        const slots = Array.from({ length: Math.min(SLOTS_PER_STEP, SLOT_COUNT - first) }, (_, i) => first + i);
        const batch = await from.loadSlots(slots);
        await Promise.all(batch.map((a) => to.importApp(a)));
        apps += batch.length;
        for (const a of batch) tasks += a.tasks.length;
      }
      return { apps, tasks };
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}

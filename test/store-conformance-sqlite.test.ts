// The embedded SQLite store through the conformance suite every backend passes,
// once with plain secrets and once encrypted at rest.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { secretCodec } from '../lib/store/secret-codec.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { Store } from '../lib/store/store.js';
import { storeConformance } from './helpers/store-conformance.js';
import { tempDir } from './helpers/server.js';

for (const [name, key] of [
  ['sqlite', undefined],
  ['sqlite, secrets encrypted', randomBytes(32).toString('hex')],
] as const) {
  const dirs = new WeakMap<Store, string>();
  const open = (dir: string): Store => {
    const store = new SqliteStore(dir, secretCodec(key));
    dirs.set(store, dir);
    return store;
  };
  storeConformance(name, {
    open: () => Promise.resolve(open(join(tempDir(), 'data'))),
    async reopen(store) {
      await store.close();
      return open(dirs.get(store)!);
    },
  });
}

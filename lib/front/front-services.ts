import { Config } from '../config.js';
import { ClusterView } from './cluster-view.js';
import { Logger } from '../log.js';
import { Store } from '../store/store.js';
import { Metrics } from './metrics.js';
import { OwnerLink } from '../generation/owner-link.js';
import { StorePresence } from './store-presence.js';
import { TaskCache } from './task-cache.js';

/** What the routes of one front generation share. */
export interface FrontServices {
  config: Config;
  store: Store;
  cache: TaskCache;
  owner: OwnerLink;
  metrics: Metrics;
  log: Logger;
  build: string;
  /** Whether the store's file is still where it was opened (store-presence.ts). */
  storage: StorePresence;
  /** Cluster mode only (--store redis://…): the other instances, who owns what. */
  cluster?: ClusterView;
}

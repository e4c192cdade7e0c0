import { Config } from '../config.js';
import { Logger } from '../log.js';
import { Store } from '../store/store.js';
import { Metrics } from './metrics.js';
import { OwnerLink } from './owner-link.js';
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
}

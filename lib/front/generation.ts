import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Config, shardOptions } from '../config.js';
import { ShardCommand, ShardEvent, ShardReply, ShardSettings } from '../contract/messages.js';
import { createLogger, Logger } from '../log.js';
import { SupervisorChannel } from '../process/ipc.js';
import { secretCodec } from '../store/secret-codec.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { WriteLock } from '../store/write-lock.js';
import { FrontLoad } from '../util/front-load.js';
import { createRequestListener } from './app.js';
import { Authenticator } from './auth.js';
import { answerClientErrors } from './client-error.js';
import { buildStamp } from './build-stamp.js';
import { Drainer } from './drain.js';
import { Metrics } from './metrics.js';
import { answerOddRequests, SERVER_OPTIONS } from './odd-requests.js';
import { GenerationOwnerLink } from './owner-link.js';
import { SingleInstanceOwnership } from './ownership.js';
import { FrontServices } from './services.js';
import { ShardPool } from './shard-pool.js';
import { StorePresence } from './store-presence.js';
import { TaskCache } from './task-cache.js';

/** In-flight requests get this long after a stop before their sockets are cut. */
export const DRAIN_DEADLINE_MS = 6_000;
/** docs/api.md §8: a stop ends within 10 s; the supervisor kills what is left at 9.5 s. */
const STOP_BUDGET_MS = 8_000;

export interface GenerationOptions {
  config: Config;
  /** Own the apps from the start (false for a generation that takes over on reload). */
  active: boolean;
  generation: number;
  supervisor?: SupervisorChannel;
}

export function shardSettings(
  c: Config,
  writeLock: WriteLock,
  frontLoad: FrontLoad,
): Omit<ShardSettings, 'shardIndex' | 'shardCount'> {
  return { ...shardOptions(c), writeLock: writeLock.buffer, frontLoad: frontLoad.buffer };
}

/**
 * One front generation: the store, the task cache, the shard threads and
 * the HTTP server. Exactly one generation owns the apps at a time; a new
 * one starts passive, serves queries from the store, and takes ownership
 * only after the old one released it.
 */
export class Generation {
  readonly log: Logger;
  readonly owner: GenerationOwnerLink;
  readonly ownership: SingleInstanceOwnership;
  private readonly store: SqliteStore;
  private readonly cache: TaskCache;
  private readonly pool: ShardPool;
  private readonly server: Server;
  private readonly drainer: Drainer;
  private stopping: Promise<void> | null = null;
  private readonly frontLoad = new FrontLoad();
  private readonly storage: StorePresence;

  private constructor(private readonly opts: GenerationOptions) {
    const { config } = opts;
    this.log = createLogger(config.logLevel, { generation: opts.generation });
    const writeLock = new WriteLock();
    // The HTTP thread never waits on a write lock: its writes retry from the event loop.
    this.store = new SqliteStore(config.dataDir, secretCodec(config.secretKey), writeLock, false);
    // Before any shard reads a secret: encryption turned on/off or a rotated key completes here.
    const rewrapped = this.store.rewrapSecrets();
    if (rewrapped > 0) this.log.info({ apps: rewrapped }, 'appsecrets re-encoded with the current key');
    const store = this.store;
    this.ownership = new SingleInstanceOwnership(opts.active);
    // While another generation owns the apps, queries read through to the store.
    this.cache = new TaskCache(store, (appid) => store.taskRowsNow(appid), this.ownership);
    const metrics = new Metrics(this.cache);
    this.frontLoad.start();
    this.pool = new ShardPool(
      shardSettings(config, writeLock, this.frontLoad),
      config.workers,
      this.ownership,
      (ev) => this.onShardEvent(ev, metrics),
      () => metrics.shardRestarts.inc(),
      this.log,
      config.shardHeapMb,
    );
    metrics.watchShardHeaps(() => this.pool.heaps());
    this.owner = new GenerationOwnerLink(this.pool, this.ownership, opts.supervisor, this.store);
    this.storage = new StorePresence(config.dataDir, this.log);
    const services: FrontServices = {
      config,
      store: this.store,
      cache: this.cache,
      owner: this.owner,
      metrics,
      log: this.log,
      build: buildStamp(),
      storage: this.storage,
    };
    this.server = createServer(SERVER_OPTIONS);
    answerClientErrors(this.server);
    answerOddRequests(this.server);
    this.drainer = new Drainer(this.server);
    this.server.on('request', createRequestListener(services, new Authenticator(config.tokens, config.trustedProxy)));
    this.build = services.build;
  }

  readonly build: string;

  static async start(opts: GenerationOptions): Promise<Generation> {
    const g = new Generation(opts);
    // The shard threads load their apps while this thread fills the cache, instead of one after
    // the other (restart of 100k tasks: bench/results/2026-11-24.md). Shard events wait in the port meanwhile.
    const started = g.pool.start();
    await Promise.all([started, g.cache.warm()]);
    await g.listen();
    g.storage.start();
    return g;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Take ownership: every app is rebuilt from the store in this generation's shards. */
  async activate(): Promise<void> {
    await this.ownership.take(async () => {
      await this.cache.warm();
      await this.pool.activate();
    });
    this.log.info('owning the apps');
  }

  /**
   * Another generation had this one's owner register or delete an app (during
   * a hand-over): this cache learns of it too, or it would drop the shard's
   * updates for a task it does not know and answer 404.
   */
  ownerReplied(cmd: ShardCommand, reply: ShardReply): void {
    this.cache.applyOwnerReply(cmd, reply);
  }

  /** The owner changed this app's tasks by itself (a component event or import): re-read them. */
  changedElsewhere(appid: string): void {
    this.cache.reloadApp(appid);
  }

  /** Give ownership up; HTTP keeps being served, from the store, until stop(). */
  async release(): Promise<void> {
    await this.ownership.give(() => this.pool.release());
    this.log.info('released the apps');
  }

  /**
   * Stop accepting, let in-flight requests finish, stop the actors, close the
   * store. An owner stays the owner while it drains, so that requests still
   * arriving on open connections (a refresh, a registration) are served.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const t0 = Date.now();
      this.storage.stop();
      await this.drainer.drain(DRAIN_DEADLINE_MS);
      this.frontLoad.stop(); // the shards' last fetches need not wait for a busy front
      // What is left of the budget goes to fetches in flight; past it the threads are ended.
      await this.pool.close(Math.max(500, STOP_BUDGET_MS - (Date.now() - t0)));
      this.store.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }

  private onShardEvent(ev: ShardEvent, metrics: Metrics): void {
    if (ev.kind === 'task') this.cache.apply(ev.update);
    else if (ev.kind === 'task-removed') this.cache.remove(ev.key);
    else metrics.onShardEvent(ev);
  }

  /**
   * Listen once. A busy port is waited for by the supervisor before this
   * process starts (lib/process/port-wait.ts explains why not here).
   */
  private listen(): Promise<void> {
    const { port, host } = this.opts.config;
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }
}

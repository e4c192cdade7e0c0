import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Config, shardOptions } from '../config.js';
import { ShardCommand, ShardEvent, ShardReply, ShardSettings } from '../contract/messages.js';
import { createLogger } from '../log.js';
import { SupervisorChannel } from '../process/ipc.js';
import { secretCodec } from '../store/secret-codec.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { WriteLock } from '../store/write-lock.js';
import { FrontLoad } from '../util/front-load.js';
import { slotOf } from '../util/shard-of.js';
import { createRequestListener } from '../front/app.js';
import { Authenticator } from '../front/auth.js';
import { answerClientErrors } from '../front/client-error.js';
import { buildStamp } from '../front/build-stamp.js';
import { Drainer } from '../front/drain.js';
import { Metrics } from '../front/metrics.js';
import { answerOddRequests, SERVER_OPTIONS } from '../front/odd-requests.js';
import { GenerationOwnerLink } from './owner-link.js';
import { Ownership, SingleInstanceOwnership } from './ownership.js';
import { ClusterMember, MemberHooks } from './cluster-member.js';
import { Store } from '../store/store.js';
import { Logger } from '../log.js';
import { FrontServices } from '../front/front-services.js';
import { ShardPool } from './shard-pool.js';
import { StorePresence } from '../front/store-presence.js';
import { TaskCache } from '../front/task-cache.js';

/** Apps read back from the store per round trip after slots were lost. */
const REREAD_BATCH = 1000;

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
  readonly ownership: Ownership;
  /** Alone (SQLite): this generation owns every app or none, handed over on SIGHUP. */
  private readonly alone: SingleInstanceOwnership | null;
  private readonly store: Store;
  private readonly cache: TaskCache;
  private readonly pool: ShardPool;
  private readonly server: Server;
  private readonly drainer: Drainer;
  private stopping: Promise<void> | null = null;
  private readonly frontLoad = new FrontLoad();
  private readonly storage: StorePresence;

  private constructor(
    private readonly opts: GenerationOptions,
    log: Logger,
    /** Cluster mode (--store redis://…): this instance's leases, change feed and owner channel. */
    private readonly cluster: ClusterMember | undefined,
  ) {
    const { config } = opts;
    this.log = log;
    const writeLock = new WriteLock();
    if (cluster) {
      this.store = cluster.store;
      this.alone = null;
      this.ownership = cluster.ownership;
      // Every other instance's writes reach this cache through the change feed.
      this.cache = new TaskCache(this.store);
    } else {
      // The HTTP thread never waits on a write lock: its writes retry from the event loop.
      const sqlite = new SqliteStore(config.dataDir, secretCodec(config.secretKey), writeLock, false);
      // Before any shard reads a secret: encryption turned on/off or a rotated key completes here.
      const rewrapped = sqlite.rewrapSecrets();
      if (rewrapped > 0) this.log.info({ apps: rewrapped }, 'appsecrets re-encoded with the current key');
      this.store = sqlite;
      this.alone = new SingleInstanceOwnership(opts.active);
      this.ownership = this.alone;
      // While another generation owns the apps, queries read through to the store.
      this.cache = new TaskCache(sqlite, (appid) => sqlite.taskRowsNow(appid), this.ownership);
    }
    const metrics = new Metrics(this.cache);
    if (cluster) metrics.watchCluster(cluster);
    this.frontLoad.start();
    this.pool = new ShardPool(
      { ...shardSettings(config, writeLock, this.frontLoad), leases: cluster?.table.buffer },
      config.workers,
      this.ownership,
      (ev) => this.onShardEvent(ev, metrics),
      () => metrics.shardRestarts.inc(),
      this.log,
      config.shardHeapMb,
    );
    metrics.watchShardHeaps(() => this.pool.heaps());
    this.owner = new GenerationOwnerLink(this.pool, this.ownership, opts.supervisor, this.store, cluster);
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
      cluster,
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
    const { config } = opts;
    const log = createLogger(config.logLevel, { generation: opts.generation });
    const cluster =
      config.store.kind === 'redis'
        ? await ClusterMember.open(
            {
              url: config.store.url,
              display: config.store.display,
              prefix: config.redisPrefix,
              secrets: secretCodec(config.secretKey),
            },
            config.instanceId,
            config.leaseMs,
            log,
          )
        : undefined;
    const g = new Generation(opts, log, cluster);
    // Changes after this version reach the cache through the change feed (taken before the cache is filled).
    const fromVersion = cluster ? await cluster.store.version() : 0;
    // The shard threads load their apps while this thread fills the cache, instead of one after
    // the other (restart of 100k tasks: bench/results/2026-11-24.md). Shard events wait in the port meanwhile.
    const started = g.pool.start();
    await Promise.all([started, g.cache.warm()]);
    if (cluster) {
      await cluster.start(g.memberHooks(), fromVersion);
      if (opts.active) cluster.activate();
    }
    await g.listen();
    g.storage.start();
    return g;
  }

  /** What the cluster member drives here: the shards (slots gained and lost) and the cache (the change feed). */
  private memberHooks(): MemberHooks {
    const { pool, cache } = this;
    /** Per app this instance owns, the registrations its shard last re-read (task and regGen of each). */
    const registrations = new Map<string, string>();
    const everyShard = async (cmd: ShardCommand) => {
      const failed = (await pool.broadcast(cmd)).find((r) => r.kind === 'error');
      if (failed?.kind === 'error') throw new Error(`${cmd.kind} failed: ${failed.message}`);
    };
    return {
      own: (slots) => everyShard({ kind: 'own', slots }),
      disown: async (slots) => {
        const gone = new Set(slots);
        for (const appid of registrations.keys()) if (gone.has(slotOf(appid))) registrations.delete(appid);
        await everyShard({ kind: 'disown', slots });
        // While this instance believed it owned these slots it took the change feed's values of
        // their apps from its own shard only; another owner may have stored newer ones meanwhile
        // (a lease lost during a stall): read them now, or they would be served stale until the
        // next change of each app.
        await this.rereadApps(cache.appids().filter((appid) => gone.has(slotOf(appid))));
      },
      changed: (appid, rows) => {
        if (!this.ownership.owns(appid)) {
          registrations.delete(appid);
          return cache.replaceApp(appid, rows);
        }
        // Its values come from this instance's shard; the store says which tasks it has. The
        // shard re-reads the app only when its registrations changed (another instance may have
        // written them), not for each value it stored itself.
        cache.syncTasks(appid, rows);
        const now = rows.map((r) => `${r.type}/${r.sub}/${r.regGen}`).join(' ');
        if (registrations.get(appid) === now) return;
        registrations.set(appid, now);
        void pool.send(appid, { kind: 'reconcile', appid });
      },
      command: (appid, cmd) => this.runAsOwner(appid, cmd),
      slotCounts: (slot) => cache.slotCounts(slot),
    };
  }

  /** Cluster mode: the cache's entries of these apps (owned elsewhere now) as the store holds them. */
  private async rereadApps(appids: string[]): Promise<void> {
    const store = this.cluster?.store;
    if (!store) return;
    for (let i = 0; i < appids.length; i += REREAD_BATCH) {
      const batch = appids.slice(i, i + REREAD_BATCH);
      const rows = await store.tasksOf(batch);
      for (const appid of batch) if (!this.ownership.owns(appid)) this.cache.replaceApp(appid, rows.get(appid) ?? []);
    }
  }

  /**
   * A command another generation or instance sent to this one as the app's
   * owner; this front's cache learns what it changed, as the sender's does.
   */
  async runAsOwner(appid: string, cmd: ShardCommand): Promise<ShardReply> {
    if (!this.ownership.owns(appid))
      return {
        kind: 'error',
        reason: 'unavailable',
        message: 'Ownership of this app is moving (between generations or instances); try again.',
      };
    const reply = await this.owner.send(appid, cmd);
    this.cache.applyOwnerReply(cmd, reply);
    // Component commands register and remove tasks in the owner: this front's copy is re-read too.
    if (cmd.kind === 'component-event' || cmd.kind === 'component-import') this.cache.reloadApp(appid);
    return reply;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Take ownership: every app is rebuilt from the store in this generation's shards. */
  async activate(): Promise<void> {
    if (this.cluster) this.cluster.activate();
    else
      await this.alone?.take(async () => {
        await this.cache.warm();
        await this.pool.activate();
      });
    this.log.info('owning the apps');
  }

  /** Give ownership up; HTTP keeps being served, from the store, until stop(). */
  async release(): Promise<void> {
    if (this.cluster) await this.cluster.release();
    else await this.alone?.give(() => this.pool.release());
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
      // A cluster member gives its slots up first, so that the other instances take them at once.
      await this.cluster?.release();
      await this.pool.close(Math.max(500, STOP_BUDGET_MS - (Date.now() - t0)));
      if (this.cluster) await this.cluster.close();
      else await this.store.close();
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

import { ShardCommand, ShardReply } from '../contract/messages.js';
import { Logger } from '../log.js';
import { ChangeFeed } from '../cluster/change-feed.js';
import { LeaseKeeper } from '../cluster/lease-keeper.js';
import { LeaseTable } from '../cluster/lease-table.js';
import { OwnerChannel, RemoteCommand } from '../cluster/owner-channel.js';
import { RedisClient, RedisStore, RedisStoreOptions } from '../store/redis-store.js';
import { TaskRow } from '../store/rows.js';
import { slotOf } from '../util/shard-of.js';
import { ClusterView, InstanceView } from '../front/cluster-view.js';
import { ClusterStats } from '../front/metrics.js';
import { ClusterRoute } from './owner-link.js';
import { Ownership } from './ownership.js';

/** A forwarded command waits this long for the owner's answer (a refresh waits for WeChat). */
const ASK_TIMEOUT_MS = 30_000;

const REMOTE = new Set<ShardCommand['kind']>([
  'register',
  'unregister',
  'refresh',
  'component-event',
  'component-import',
  'clear-quota',
]);
const isRemote = (cmd: ShardCommand): cmd is RemoteCommand => REMOTE.has(cmd.kind);

/** Close a connection that may never have connected. */
async function closeClient(c: RedisClient | null): Promise<void> {
  if (c?.isReady) await c.close().catch(() => undefined);
  else if (c?.isOpen) c.destroy();
}

/** What the member drives in its generation: the shard threads and the task cache. */
export interface MemberHooks {
  /** This instance now holds these slots: its shards load and start their apps. */
  own(slots: number[]): Promise<void>;
  /** These slots are no longer this instance's: their actors stop and their fetches land. */
  disown(slots: number[]): Promise<void>;
  /** Another instance (or this one) wrote the app: its tasks as the store now holds them. */
  changed(appid: string, rows: TaskRow[]): void;
  /** A command another instance forwarded for an app this one owns. */
  command(appid: string, cmd: ShardCommand): Promise<ShardReply>;
  /** Apps and tasks per slot, as this instance knows them (it knows every app). */
  slotCounts(slot: number): { apps: number; tasks: number };
}

/** Ownership per slot, from the leases this instance holds (the table its shards read too). */
export class LeasedOwnership implements Ownership {
  constructor(private readonly table: LeaseTable) {}

  owns(appid: string): boolean {
    return this.table.held(slotOf(appid)) !== 0;
  }

  slotsToLoad(): number[] {
    return this.table.heldSlots();
  }
}

/**
 * This instance's part in a cluster (--store redis://…): the leases of the
 * slots it owns, the change feed that keeps its cache in line with what
 * every instance writes, and the channel through which commands reach the
 * owner of an app. One per front generation; a SIGHUP reload hands the
 * leases over (release, then the next generation's activate).
 */
export class ClusterMember implements ClusterView, ClusterRoute, ClusterStats {
  readonly table: LeaseTable;
  readonly ownership: LeasedOwnership;
  private keeper: LeaseKeeper | null = null;
  private leaseClient: RedisClient | null = null;
  private feed: ChangeFeed | null = null;
  private channel: OwnerChannel | null = null;
  private subscriber: RedisClient | null = null;
  private publisher: RedisClient | null = null;
  private hooks: MemberHooks | null = null;
  /** Leases lost by the keepers of earlier activations (a keeper is made anew after each release). */
  private losses = 0;

  private constructor(
    readonly store: RedisStore,
    /** The store's URL without its password. */
    private readonly display: string,
    readonly self: string,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {
    this.table = new LeaseTable(undefined, leaseMs);
    this.ownership = new LeasedOwnership(this.table);
  }

  /** Connect to Redis; rejects with one line naming the URL (never its password) when it cannot. */
  static async open(
    o: Omit<RedisStoreOptions, 'onError'>,
    self: string,
    leaseMs: number,
    log: Logger,
  ): Promise<ClusterMember> {
    const options: RedisStoreOptions = { ...o, onError: (message) => log.warn({ err: message }, 'store connection') };
    const store = await RedisStore.open(options);
    return new ClusterMember(store, options.display, self, leaseMs, log);
  }

  /**
   * Follow the change feed from `fromVersion` (what the cache was filled
   * with) and take commands from the other instances (owning nothing yet).
   */
  async start(hooks: MemberHooks, fromVersion: number): Promise<void> {
    this.hooks = hooks;
    this.feed = await ChangeFeed.start({
      store: this.store,
      fromVersion,
      onChanged: (appid, rows) => hooks.changed(appid, rows),
      onError: (message) => this.log.warn({ err: message }, 'change feed'),
    });
    this.subscriber = this.store.newConnection();
    this.publisher = this.store.newConnection();
    await Promise.all([this.subscriber.connect(), this.publisher.connect()]);
    this.channel = await OwnerChannel.open({
      publisher: this.publisher,
      subscriber: this.subscriber,
      keys: this.store.keys,
      instanceId: this.self,
      logger: this.log,
    });
    await this.channel.serve((appid, cmd) => hooks.command(appid, cmd));
  }

  /** Take slots: lease, balance and renew them until release(). */
  activate(): void {
    const hooks = this.hooks;
    if (!hooks) throw new Error('the cluster member is not started');
    if (!this.keeper) {
      this.leaseClient = this.store.newConnection();
      this.keeper = new LeaseKeeper({
        redis: this.leaseClient,
        keys: this.store.keys,
        instanceId: this.self,
        leaseMs: this.leaseMs,
        table: this.table,
        logger: this.log,
        gain: (slots) => hooks.own(slots),
        lose: (slots) => hooks.disown(slots),
        appsInSlot: (slot) => hooks.slotCounts(slot).apps,
        stats: () => this.ownCounts(),
      });
      void this.leaseClient.connect().catch((e: unknown) => this.log.warn({ err: String(e) }, 'lease connection'));
    }
    this.keeper.start();
  }

  /** Give every slot up (its actors stopped first, so that their last writes land under the lease). */
  async release(): Promise<void> {
    const keeper = this.keeper;
    this.keeper = null;
    this.losses += keeper?.metrics().losses ?? 0;
    await keeper?.close();
    const client = this.leaseClient;
    this.leaseClient = null;
    await closeClient(client);
  }

  async close(): Promise<void> {
    await this.release();
    await Promise.allSettled([this.feed?.stop(), this.channel?.close()]);
    await Promise.allSettled([closeClient(this.subscriber), closeClient(this.publisher)]);
    await this.store.close();
  }

  ownerOf(appid: string): string | null {
    if (this.table.held(slotOf(appid)) !== 0) return this.self;
    return this.keeper?.ownerOf(slotOf(appid)) ?? null;
  }

  ask(instance: string, appid: string, cmd: ShardCommand): Promise<ShardReply> {
    if (!this.channel)
      return Promise.resolve({ kind: 'error', reason: 'unavailable', message: 'This instance is starting.' });
    if (!isRemote(cmd))
      return Promise.resolve({
        kind: 'error',
        reason: 'failed',
        message: `A ${cmd.kind} command is not sent to other instances.`,
      });
    return this.channel.ask(instance, appid, cmd, ASK_TIMEOUT_MS);
  }

  async tasksOf(appid: string): Promise<TaskRow[]> {
    return (await this.store.tasksOf([appid])).get(appid) ?? [];
  }

  instances(): InstanceView[] {
    return (this.keeper?.instances() ?? []).map((i) => ({
      id: i.id,
      apps: i.apps,
      tasks: i.tasks,
      last_seen: new Date(i.last_seen).toISOString(),
    }));
  }

  degraded(): string | null {
    if (this.store.status() === 'down') return `the store at ${this.display} cannot be reached`;
    return this.keeper?.degraded() ?? null;
  }

  leasesHeld(): number {
    return this.table.heldSlots().length;
  }

  leaseLosses(): number {
    return this.losses + (this.keeper?.metrics().losses ?? 0);
  }

  feedLagMs(): number {
    return this.feed?.lagMs() ?? 0;
  }

  /** The apps and tasks of the slots this instance holds, for its heartbeat. */
  private ownCounts(): { apps: number; tasks: number } {
    let apps = 0;
    let tasks = 0;
    for (const slot of this.table.heldSlots()) {
      const c = this.hooks?.slotCounts(slot);
      apps += c?.apps ?? 0;
      tasks += c?.tasks ?? 0;
    }
    return { apps, tasks };
  }
}

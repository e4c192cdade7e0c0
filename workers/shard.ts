import { MessagePort } from 'node:worker_threads';
import { RegisterResult, ShardEvent, ShardReply, ShardSettings, TaskUpdate } from '../lib/contract/messages.js';
import { TaskKey } from '../lib/contract/task-type.js';
import { createLogger, Logger, mask } from '../lib/log.js';
import { StoredApp } from '../lib/store/rows.js';
import { newApp } from '../lib/store/new-app.js';
import { ValidRegistration } from '../lib/contract/registration.js';
import { FrontLoad } from '../lib/util/front-load.js';
import { slotOf } from '../lib/util/shard-of.js';
import { LeaseTable } from '../lib/cluster/lease-table.js';
import { Store } from '../lib/store/store.js';
import { WechatClient } from '../lib/wechat/wechat-client.js';
import { AppActor } from './app-actor.js';
import { TaskActor } from './task-actor.js';
import { Callbacks } from './callbacks.js';
import { RefreshCalendar } from './refresh-calendar.js';
import { RefreshTimers } from './refresh-timers.js';
import { ShardServices } from './shard-services.js';
import { openShardStore } from './shard-store.js';

/**
 * Fetch starts while the front is saturated: 50 a second per shard, enough
 * for 100k tokens of two hours (14 a second) whatever the front does, and
 * little CPU beside it (one fetch at a time on loopback was ~1,000 a second).
 */
const SATURATED_PACE_MS = 20;

const NOT_OWNER: RegisterResult = {
  ok: false,
  reason: 'unavailable',
  message: 'This shard does not own the apps now (a hand-over); try again.',
};

/**
 * Everything one shard thread owns: the app actors of its appids, and the
 * I/O they share. Commands arrive from the front; events leave on `events`.
 */
export class Shard implements ShardServices {
  readonly wechat: WechatClient;
  readonly callbacks: Callbacks;
  readonly log: Logger;
  readonly timers: RefreshTimers;
  readonly calendar = new RefreshCalendar();
  private readonly apps = new Map<string, AppActor>();
  /** The slots whose apps this shard runs: every one (one instance), or those this instance leased. */
  private owned: 'all' | Set<number> = new Set();
  /** Deleted apps whose fetches are still in flight: an app registered anew waits for them. */
  private readonly retiring = new Map<string, Promise<unknown>>();
  /** Reads of an app from the store on their way to its actors. */
  private readonly reconciling = new Map<string, Promise<void>>();

  /** Open the store and start owning nothing; activate() or own() load the apps. */
  static async open(settings: ShardSettings, events: MessagePort): Promise<Shard> {
    const leases = settings.leases ? new LeaseTable(settings.leases, settings.leaseMs) : null;
    return new Shard(settings, events, await openShardStore(settings, leases), leases);
  }

  private constructor(
    readonly settings: ShardSettings,
    private readonly events: MessagePort,
    readonly store: Store,
    /** Cluster mode: which slots this instance leased, with their fences; null with one instance. */
    private readonly leases: LeaseTable | null,
  ) {
    this.log = createLogger(settings.logLevel, { shard: settings.shardIndex });
    // Twice the WeChat concurrency keeps every connection busy while other runs commit. While the
    // front thread is saturated (lib/util/front-load.ts): one at a time, at most one start per 20 ms.
    const frontLoad = new FrontLoad(settings.frontLoad);
    const most = 2 * settings.wechatConcurrency;
    this.timers = new RefreshTimers(
      () => (frontLoad.saturated ? 1 : most),
      2_000,
      () => (frontLoad.saturated ? SATURATED_PACE_MS : 0),
    );
    this.wechat = new WechatClient({
      baseUrl: settings.wechatApi,
      timeoutMs: settings.wechatTimeoutMs,
      concurrency: settings.wechatConcurrency,
      // Cluster mode: checked again after the wait for a connection, which may outlast the lease.
      callBudgetMs: leases ? (owner) => leases.callBudgetMs(owner) : undefined,
    });
    this.callbacks = new Callbacks(
      settings.callbackTimeoutMs,
      this.log,
      settings.notifySecret,
      (ok) => this.emit({ kind: 'notify', ok }),
      settings.callbackHosts,
      (reason) => this.emit({ kind: 'notify-dropped', reason }),
    );
  }

  emit(ev: ShardEvent): void {
    this.events.postMessage(ev);
  }

  /**
   * Whether a WeChat call for `appid` may start now. In cluster mode only
   * while this instance's lease of the app's slot is valid by its own
   * monotonic clock with a margin: a paused or cut-off instance starts none.
   */
  mayCall(appid: string): boolean {
    return this.leases === null || this.leases.mayCall(appid);
  }

  private owns(appid: string): boolean {
    return this.owned === 'all' || this.owned.has(slotOf(appid));
  }

  /**
   * Whether registrations and deletes may be written here: alone, only by
   * the owning generation; in a cluster by any instance (they are not
   * fenced), the apps' actors following wherever their slot is owned.
   */
  private get mayWrite(): boolean {
    return this.leases !== null || this.owned === 'all';
  }

  /** Take ownership: rebuild every app of this shard from the store and start it. */
  async activate(): Promise<void> {
    this.owned = 'all';
    await this.loadAll();
  }

  /** Cluster mode: run the apps of these slots (those of this shard), from what the store holds. */
  async own(slots: number[]): Promise<void> {
    const mine = slots.filter((s) => s % this.settings.shardCount === this.settings.shardIndex);
    if (this.owned === 'all' || mine.length === 0) return;
    for (const s of mine) this.owned.add(s);
    for (const stored of await this.store.loadSlots(mine)) {
      const appid = stored.app.appid;
      if (!this.owns(appid)) continue; // disowned again meanwhile
      const actor = this.apps.get(appid);
      if (actor) actor.reconcile(stored);
      else this.apps.set(appid, new AppActor(this, stored, this.retiring.get(appid)));
    }
  }

  /** Cluster mode: stop the apps of these slots; resolves once their fetches in flight landed (or were refused). */
  async disown(slots: number[]): Promise<void> {
    if (this.owned === 'all') return;
    const gone = new Set(slots);
    for (const s of slots) this.owned.delete(s);
    const leaving = [...this.apps.entries()].filter(([appid]) => gone.has(slotOf(appid)));
    for (const [appid, actor] of leaving) {
      this.apps.delete(appid);
      actor.release();
    }
    await Promise.allSettled(leaving.map(([, a]) => a.idle()));
  }

  /**
   * Give ownership up: no timer fires and no fetch starts here afterwards.
   * Fetches in flight finish and land in the store first, so the next owner
   * starts from their values instead of fetching again. They are bounded by
   * the WeChat and callback timeouts; the supervisor kills a generation whose
   * release takes longer, so two owners never run.
   */
  async release(): Promise<void> {
    this.owned = new Set();
    for (const app of this.apps.values()) app.release();
    await Promise.allSettled([...this.apps.values()].map((a) => a.idle()));
    this.apps.clear();
  }

  /**
   * Write registrations (those of one turn share a commit), then bring the
   * actors in line: the owner is the one writer of its apps. Answers with
   * the tasks each one names as they now stand, for the front's cache.
   */
  async register(regs: ValidRegistration[], at: number): Promise<RegisterResult[]> {
    if (!this.mayWrite) return regs.map(() => NOT_OWNER);
    const written = await Promise.allSettled(regs.map((reg) => this.store.register(reg, at)));
    const results = regs.map((reg, i): RegisterResult => {
      const w = written[i]!;
      if (w.status === 'rejected') {
        const message = w.reason instanceof Error ? w.reason.message : String(w.reason);
        this.log.error({ appid: reg.appid, err: message }, 'store rejected a registration');
        return {
          ok: false,
          reason: 'unavailable',
          message: `The store could not write the registration (${message}); try again.`,
        };
      }
      // A new app is exactly newApp(reg, at) in the store: no need to read it back.
      if (w.value) void this.reconcile(reg.appid, newApp(reg, at));
      return { ok: true, created: w.value, tasks: [] };
    });
    // Changed apps are read back (in order per app), then each answer carries its tasks as the actors hold them.
    await Promise.all(
      regs.map((reg, i) => {
        const w = written[i]!;
        return w.status === 'fulfilled' && !w.value ? this.reconcile(reg.appid) : Promise.resolve();
      }),
    );
    return results.map((r, i) => {
      if (!r.ok) return r;
      const reg = regs[i]!;
      const tasks: TaskUpdate[] = [];
      for (const t of reg.tasks) {
        const actor = this.task({ appid: reg.appid, type: t.type, sub: t.sub });
        if (actor) tasks.push(actor.snapshot());
      }
      return { ...r, tasks };
    });
  }

  /** Delete a task, or the app with all its tasks; false when there was none. */
  async unregister(appid: string, task?: TaskKey): Promise<boolean> {
    if (!this.mayWrite) throw new Error('not the owner');
    const found = task ? await this.store.deleteTask(task) : await this.store.deleteApp(appid);
    if (found) await this.reconcile(appid, task ? undefined : null);
    return found;
  }

  /**
   * Bring the app's actors in line with the store. `known`: what the store
   * holds of it (null: nothing), when the caller knows that already (an app
   * just created or deleted); then, unless a read of the app is still on
   * its way, the actors change before this returns. Reads of one app are
   * applied in the order they were asked for.
   */
  reconcile(appid: string, known?: StoredApp | null): Promise<void> {
    const pending = this.reconciling.get(appid);
    if (known !== undefined && !pending) {
      this.apply(appid, known);
      return Promise.resolve();
    }
    const next = (pending ?? Promise.resolve())
      .then(async () => this.apply(appid, known !== undefined ? known : await this.store.getApp(appid)))
      .catch((err: unknown) => {
        // The actors keep what they had; a restart of the shard reads the store again.
        this.log.error(
          { appid, err: err instanceof Error ? err.message : String(err) },
          'could not read the app from the store',
        );
      });
    this.reconciling.set(appid, next);
    void next.then(() => {
      if (this.reconciling.get(appid) === next) this.reconciling.delete(appid);
    });
    return next;
  }

  private apply(appid: string, stored: StoredApp | null | undefined): void {
    if (!this.owns(appid)) return;
    const actor = this.apps.get(appid);
    if (!stored) {
      if (actor) this.retire(appid, actor);
      return;
    }
    if (actor) actor.reconcile(stored);
    else this.apps.set(appid, new AppActor(this, stored, this.retiring.get(appid)));
  }

  private retire(appid: string, actor: AppActor): void {
    this.apps.delete(appid);
    const done = actor.remove();
    this.retiring.set(appid, done);
    void done.then(() => {
      if (this.retiring.get(appid) === done) this.retiring.delete(appid);
    });
  }

  async refresh(key: TaskKey, stale: string | undefined, reqId?: string): Promise<ShardReply> {
    const task = this.apps.get(key.appid)?.task(key.type, key.sub);
    if (!task)
      return {
        kind: 'error',
        reason: 'unknown_task',
        message: `Task ${key.type} of app ${key.appid} is not registered.`,
      };
    const outcome = await task.refresh(stale, this.settings.refreshMinIntervalMs);
    this.log.info({ reqId, ...key, stale: mask(stale), result: outcome.result, note: outcome.note }, 'passive refresh');
    return { kind: 'refreshed', update: task.snapshot(), outcome };
  }

  appActor(appid: string): AppActor | undefined {
    return this.apps.get(appid);
  }

  /** The actor of one task, when this shard owns it. */
  task(key: TaskKey): TaskActor | undefined {
    return this.apps.get(key.appid)?.task(key.type, key.sub);
  }

  async close(): Promise<void> {
    await this.release();
    await this.store.close();
    await Promise.allSettled([this.wechat.close(), this.callbacks.close()]);
  }

  private async loadAll(): Promise<void> {
    const { shardIndex, shardCount } = this.settings;
    // One pass over the store rather than a getApp() per app: 100k apps restore in a fraction of the time.
    for (const stored of await this.store.loadShard(shardIndex, shardCount)) {
      const actor = this.apps.get(stored.app.appid);
      if (actor) actor.reconcile(stored);
      else this.apps.set(stored.app.appid, new AppActor(this, stored));
    }
    this.log.debug({ apps: this.apps.size }, 'shard loaded');
  }
}

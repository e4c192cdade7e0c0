import { ShardCommand, ShardReply, TaskUpdate } from '../contract/messages.js';
import { ApiError, badRequest, notFound } from '../contract/errors.js';
import { TaskKey, TaskType } from '../contract/task-type.js';
import { TaskRow } from '../store/rows.js';
import { Store } from '../store/store.js';
import { Ownership } from '../generation/ownership.js';
import { BACKOFF_CAP_MS, isUsable } from '../timing.js';
import { okBody } from './envelope.js';
import { SLOT_COUNT, slotOf } from '../util/shard-of.js';

/** The front's copy of one task, as last announced by its owner. */
export interface CachedTask extends TaskUpdate {
  seq: number;
  /** The 200 answer for `value`, serialised once per value. */
  body: Buffer | null;
}

export interface Selector {
  authorizer_appid?: string;
  openid?: string;
}

export type Lookup = { ok: true; task: CachedTask } | { ok: false; error: ApiError };

/**
 * Every entry is built by this one literal, so all 100k share one hidden
 * class. `{ ...update, body }` of an object that came through postMessage
 * gave each entry a hidden class of its own: ~500 B per task of V8 maps and
 * descriptor arrays (a heap snapshot at 100k: 51 MB of the front's 116).
 */
function entry(u: TaskUpdate, body: Buffer | null): CachedTask {
  return {
    appid: u.appid,
    type: u.type,
    sub: u.sub,
    value: u.value,
    expiresAt: u.expiresAt,
    state: u.state,
    lastError: u.lastError,
    refreshedAt: u.refreshedAt,
    nextRefreshAt: u.nextRefreshAt,
    authorizerAppid: u.authorizerAppid,
    fetchCount: u.fetchCount,
    failCount: u.failCount,
    seq: u.seq ?? 0,
    body,
  };
}

/** A cache entry for a task's status (a store row or an owner's update), its answer serialised. */
export function cachedTask(u: TaskUpdate): CachedTask {
  return entry(u, u.value === null ? null : okBody(u.value));
}

/**
 * Latest value and status of every task, pushed by the shards, so that
 * GET /task never waits on a thread. When this generation does not own
 * the apps (during a reload hand-over) it reads through to the store for
 * anything it cannot serve, since the owner's pushes go elsewhere.
 */
/**
 * One app's tasks: the task itself when the app has one (most apps hold a
 * single type-0 task, and two Maps per app were half of this cache's memory
 * at 100k apps — bench/results/2026-11-24.md), else its tasks by type and sub.
 */
type AppEntry = CachedTask | Map<TaskType, Map<string, CachedTask>>;

function* tasksIn(e: AppEntry): Generator<CachedTask> {
  if (!(e instanceof Map)) {
    yield e;
    return;
  }
  for (const subs of e.values()) yield* subs.values();
}

/**
 * Told of every change to the cache, so that an index (the /apps one) can
 * follow it without scanning: `changed` with the entry before and after
 * (undefined when absent), `reset` when everything was replaced.
 */
export interface CacheWatcher {
  changed(prev: CachedTask | undefined, next: CachedTask | undefined): void;
  reset(): void;
}

function bump(counts: Int32Array, slot: number, by: number): void {
  counts[slot] = (counts[slot] ?? 0) + by;
}

/** Updates of uncached tasks kept at most: those of removed tasks are never claimed. */
const EARLY_MAX = 10_000;

function taskKey(k: TaskKey): string {
  return `${k.appid}\u0000${k.type}\u0000${k.sub}`;
}

export class TaskCache {
  private readonly apps = new Map<string, AppEntry>();
  /** Apps and tasks per slot (slotOf): what cluster mode balances and reports, without a walk of the cache. */
  private readonly slotApps = new Int32Array(SLOT_COUNT);
  private readonly slotTasks = new Int32Array(SLOT_COUNT);
  private watcher: CacheWatcher | undefined;
  /** Updates of tasks not cached (yet): see apply(). */
  private readonly early = new Map<string, TaskUpdate>();
  /** Grows whenever an appid may have appeared or gone (lets /apps keep a sorted index). */
  membership = 0;

  /**
   * `rowsNow`: one app's task rows read at once (no secret), for reading
   * through while this generation does not own the apps; without it a
   * non-owner serves what it was last told.
   */
  constructor(
    private readonly store: Store,
    private readonly rowsNow?: (appid: string) => TaskRow[],
    private readonly ownership?: Ownership,
  ) {}

  /** One watcher at a time (the front's /apps index). */
  watch(w: CacheWatcher): void {
    this.watcher = w;
  }

  /** Fill from the store (start, and taking ownership). */
  async warm(): Promise<void> {
    const rows = await this.store.allTasks();
    this.apps.clear();
    this.slotApps.fill(0);
    this.slotTasks.fill(0);
    this.membership++;
    this.watcher?.reset();
    for (const row of rows) this.put(cachedTask(row));
  }

  /**
   * The tasks a registration named, as the owner held them when it answered.
   * A task cached already keeps its entry: the owner's events, which may
   * have overtaken the answer, keep it current.
   */
  registered(tasks: TaskUpdate[]): void {
    for (const t of tasks) {
      // An update of the new task that overtook this answer (other channel) is the later picture.
      const key = taskKey(t);
      const early = this.early.get(key);
      if (early) this.early.delete(key);
      if (this.get(t)) continue;
      this.put(cachedTask(early && (early.seq ?? 0) > (t.seq ?? 0) ? early : t));
    }
  }

  /** What the owner answered to a registration or delete, whoever sent it. */
  applyOwnerReply(cmd: ShardCommand, reply: ShardReply): void {
    if (cmd.kind === 'register' && reply.kind === 'registered') {
      for (const r of reply.results) if (r.ok) this.registered(r.tasks);
    } else if (cmd.kind === 'unregister' && reply.kind === 'unregistered' && reply.found) {
      if (cmd.task) this.remove(cmd.task);
      else this.removeApp(cmd.appid);
    }
  }

  /**
   * An owner's update of a task. One older than the cached picture (it
   * came late, on the other channel) is ignored. One of a task not cached
   * is kept aside: either its registration's answer is still on its way
   * (registered() then takes the later of the two) or the task was removed
   * (its late update is older than any later registration's answer).
   */
  apply(u: TaskUpdate): void {
    const prev = this.get(u);
    if (!prev) {
      if (this.early.size >= EARLY_MAX) this.early.clear();
      this.early.set(taskKey(u), u);
      return;
    }
    if ((u.seq ?? 0) < prev.seq) return;
    const body = prev.value === u.value ? prev.body : u.value === null ? null : okBody(u.value);
    this.put(entry(u, body));
  }

  remove(key: TaskKey): void {
    const e = this.apps.get(key.appid);
    if (!e) return;
    if (!(e instanceof Map)) {
      if (e.type === key.type && e.sub === key.sub) this.dropApp(key.appid);
      return;
    }
    const subs = e.get(key.type);
    const gone = subs?.get(key.sub);
    if (gone && subs?.delete(key.sub)) {
      bump(this.slotTasks, slotOf(key.appid), -1);
      this.watcher?.changed(gone, undefined);
    }
    if (subs && subs.size === 0) e.delete(key.type);
    if (e.size === 0 && this.apps.delete(key.appid)) {
      bump(this.slotApps, slotOf(key.appid), -1);
      this.membership++;
    }
  }

  removeApp(appid: string): void {
    this.dropApp(appid);
  }

  /** Forget an app and all its tasks, telling the watcher about each. */
  private dropApp(appid: string): void {
    const e = this.apps.get(appid);
    if (!e) return;
    this.apps.delete(appid);
    this.membership++;
    const slot = slotOf(appid);
    bump(this.slotApps, slot, -1);
    for (const t of tasksIn(e)) {
      bump(this.slotTasks, slot, -1);
      this.watcher?.changed(t, undefined);
    }
  }

  hasApp(appid: string): boolean {
    return this.apps.has(appid);
  }

  appids(): string[] {
    return [...this.apps.keys()];
  }

  appidCount(): number {
    return this.apps.size;
  }

  /** Every task, without building arrays (a /metrics scrape walks 100k of them). */
  forEachTask(fn: (t: CachedTask) => void): void {
    for (const e of this.apps.values()) {
      if (!(e instanceof Map)) fn(e);
      else for (const subs of e.values()) for (const t of subs.values()) fn(t);
    }
  }

  tasksOf(appid: string): CachedTask[] {
    const e = this.apps.get(appid);
    return e ? [...tasksIn(e)] : [];
  }

  /** Find the one task a query names (docs/api.md §5 GET /task). */
  find(appid: string, type: TaskType, sel: Selector): Lookup {
    if (this.ownership && !this.ownership.owns(appid)) this.refreshFromStore(appid);
    const e = this.apps.get(appid);
    if (!e) return { ok: false, error: notFound('unknown_app', `App ${appid} is not registered.`) };
    // The tasks of this type: all of `subs`, or the app's single task.
    const subs = e instanceof Map ? e.get(type) : undefined;
    const single = e instanceof Map ? undefined : e.type === type ? e : undefined;
    const size = subs ? subs.size : single ? 1 : 0;
    if (size === 0) return { ok: false, error: notFound('unknown_task', `App ${appid} has no task of type ${type}.`) };
    const wanted =
      type === TaskType.AuthorizerToken ? sel.authorizer_appid : type === TaskType.OAuthToken ? sel.openid : undefined;
    const field = type === TaskType.AuthorizerToken ? 'authorizer_appid' : 'openid';
    if (wanted !== undefined && wanted !== '') {
      const t = subs
        ? (subs.get(wanted) ?? [...subs.values()].find((c) => c.authorizerAppid === wanted))
        : single!.sub === wanted || single!.authorizerAppid === wanted
          ? single
          : undefined;
      return t
        ? { ok: true, task: t }
        : {
            ok: false,
            error: notFound('unknown_task', `App ${appid} has no type ${type} task for ${field} ${wanted}.`),
          };
    }
    if (size > 1) {
      return {
        ok: false,
        error: badRequest(
          'ambiguous_task',
          `App ${appid} has ${size} type ${type} tasks; add ?${field}= to choose one.`,
        ),
      };
    }
    return { ok: true, task: single ?? (subs!.values().next().value as CachedTask) };
  }

  /** The value to serve, or the 503 that says why there is none. */
  static servable(task: CachedTask, now: number): { ok: true; body: Buffer } | { ok: false; error: ApiError } {
    if (isUsable(task.value, task.expiresAt, now) && task.body) return { ok: true, body: task.body };
    const retry = task.nextRefreshAt ? Math.ceil((task.nextRefreshAt - now) / 1000) : 1;
    const retryAfter = String(Math.min(BACKOFF_CAP_MS / 1000, Math.max(1, retry)));
    const why = task.lastError ?? 'no value has been fetched yet';
    return {
      ok: false,
      error: new ApiError(
        503,
        'no_value',
        `No unexpired value for task ${task.type} of app ${task.appid} yet: ${why}.`,
        { 'Retry-After': retryAfter },
      ),
    };
  }

  /** Re-read one app's tasks from the store: its owner changed them by itself (a component event or import). */
  reloadApp(appid: string): void {
    if (this.rowsNow) this.replaceApp(appid, this.rowsNow(appid));
  }

  /** The app's tasks as the store holds them now (none: the app is gone). */
  replaceApp(appid: string, rows: readonly TaskRow[]): void {
    this.dropApp(appid);
    for (const row of rows) this.put(cachedTask(row));
  }

  /**
   * Which tasks the app has, as the store holds them now, keeping the
   * entries of tasks this front knows: their owner (here) keeps those current.
   */
  syncTasks(appid: string, rows: readonly TaskRow[]): void {
    const keep = new Set(rows.map((r) => `${r.type}/${r.sub}`));
    for (const t of this.tasksOf(appid)) if (!keep.has(`${t.type}/${t.sub}`)) this.remove(t);
    for (const row of rows) if (!this.get(row)) this.put(cachedTask(row));
  }

  /** Apps and tasks in one slot. */
  slotCounts(slot: number): { apps: number; tasks: number } {
    return { apps: this.slotApps[slot] ?? 0, tasks: this.slotTasks[slot] ?? 0 };
  }

  private refreshFromStore(appid: string): void {
    const cached = this.apps.get(appid);
    const now = Date.now();
    if (cached && [...tasksIn(cached)].every((t) => isUsable(t.value, t.expiresAt, now))) return;
    this.reloadApp(appid);
  }

  private get(k: TaskKey): CachedTask | undefined {
    const e = this.apps.get(k.appid);
    if (!e) return undefined;
    if (e instanceof Map) return e.get(k.type)?.get(k.sub);
    return e.type === k.type && e.sub === k.sub ? e : undefined;
  }

  private put(t: CachedTask): void {
    const e = this.apps.get(t.appid);
    if (!e) {
      this.apps.set(t.appid, t);
      this.membership++;
      const slot = slotOf(t.appid);
      bump(this.slotApps, slot, 1);
      bump(this.slotTasks, slot, 1);
      this.watcher?.changed(undefined, t);
      return;
    }
    if (!(e instanceof Map)) {
      if (e.type === t.type && e.sub === t.sub) {
        this.apps.set(t.appid, t);
        this.watcher?.changed(e, t);
        return;
      }
      // A second task: from now on this app keeps its tasks by type and sub.
      this.apps.set(t.appid, new Map([[e.type, new Map([[e.sub, e]])]]));
      return this.put(t);
    }
    let subs = e.get(t.type);
    if (!subs) e.set(t.type, (subs = new Map()));
    const prev = subs.get(t.sub);
    subs.set(t.sub, t);
    if (!prev) bump(this.slotTasks, slotOf(t.appid), 1);
    this.watcher?.changed(prev, t);
  }
}

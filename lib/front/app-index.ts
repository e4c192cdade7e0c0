import { TaskState } from '../store/rows.js';
import { CachedTask, CacheWatcher, TaskCache } from './task-cache.js';

export const TASK_STATES: readonly TaskState[] = ['pending', 'ready', 'failing'];

/** What GET /apps asks for: appids starting with `prefix`, having a task in `state`, after `after`. */
export interface AppQuery {
  prefix: string;
  state: TaskState | null;
  after: string;
  limit: number;
}

export interface AppPage {
  /** How many appids match the query (all pages). */
  total: number;
  /** The last appid of this page when more follow, else null. */
  next: string | null;
  appids: string[];
}

/** Figures over every task, for the console's totals. */
export interface Totals {
  apps: number;
  tasks: Record<TaskState, number>;
  fetch_count: number;
  fail_count: number;
}

/**
 * Past this many changed appids, re-sorting everything is cheaper than
 * inserting each one into the sorted lists (a start or a hand-over
 * changes them all at once).
 */
const REBUILD_AFTER = 1024;

/**
 * The registered appids in sorted order, all of them and per task state,
 * so that a page of GET /apps (by prefix, state and cursor) is two binary
 * searches and a slice however many apps there are. It follows the cache
 * through its watcher: a change marks the appid, and the next query
 * moves just the marked appids (or re-sorts, after many changes). The
 * totals are kept as running sums, so reading them scans nothing.
 */
export class AppIndex implements CacheWatcher {
  private sorted: string[] = [];
  private readonly byState = new Map<TaskState, string[]>(TASK_STATES.map((s) => [s, []]));
  private readonly marked = new Set<string>();
  private rebuild = true;
  private readonly counts = { pending: 0, ready: 0, failing: 0, fetch: 0, fail: 0 };

  constructor(private readonly cache: TaskCache) {
    cache.watch(this);
    this.reset();
  }

  changed(prev: CachedTask | undefined, next: CachedTask | undefined): void {
    if (prev) this.count(prev, -1);
    if (next) this.count(next, 1);
    if (prev && next && prev.state === next.state) return;
    if (this.rebuild) return;
    this.marked.add((prev ?? next)!.appid);
    if (this.marked.size > REBUILD_AFTER) {
      this.rebuild = true;
      this.marked.clear();
    }
  }

  reset(): void {
    this.rebuild = true;
    this.marked.clear();
    Object.assign(this.counts, { pending: 0, ready: 0, failing: 0, fetch: 0, fail: 0 });
    this.cache.forEachTask((t) => this.count(t, 1));
  }

  /** Every appid, sorted. */
  all(): readonly string[] {
    this.sync();
    return this.sorted;
  }

  /** One page of the appids matching `q`. */
  page(q: AppQuery): AppPage {
    this.sync();
    const list = q.state ? this.byState.get(q.state)! : this.sorted;
    return pageOf(list, q);
  }

  totals(): Totals {
    const c = this.counts;
    return {
      apps: this.cache.appidCount(),
      tasks: { pending: c.pending, ready: c.ready, failing: c.failing },
      fetch_count: c.fetch,
      fail_count: c.fail,
    };
  }

  private count(t: CachedTask, sign: 1 | -1): void {
    this.counts[t.state] += sign;
    this.counts.fetch += sign * t.fetchCount;
    this.counts.fail += sign * t.failCount;
  }

  private sync(): void {
    if (this.rebuild) {
      this.sorted = this.cache.appids().sort();
      // One walk over the tasks for the states, one over the sorted appids to keep each list in order.
      const having = new Map<TaskState, Set<string>>(TASK_STATES.map((s) => [s, new Set()]));
      this.cache.forEachTask((t) => having.get(t.state)!.add(t.appid));
      for (const [s, list] of this.byState) {
        const set = having.get(s)!;
        list.length = 0;
        if (set.size > 0) for (const appid of this.sorted) if (set.has(appid)) list.push(appid);
      }
      this.rebuild = false;
      return;
    }
    for (const appid of this.marked) {
      const tasks = this.cache.tasksOf(appid);
      place(this.sorted, appid, tasks.length > 0);
      const states = statesOf(tasks);
      for (const [s, list] of this.byState) place(list, appid, states.has(s));
    }
    this.marked.clear();
  }
}

function statesOf(tasks: readonly CachedTask[]): Set<TaskState> {
  return new Set(tasks.map((t) => t.state));
}

/** Put `appid` into the sorted `list`, or take it out. */
function place(list: string[], appid: string, present: boolean): void {
  const i = firstAtLeast(list, appid);
  const there = list[i] === appid;
  if (present && !there) list.splice(i, 0, appid);
  else if (!present && there) list.splice(i, 1);
}

/** The page of a sorted list that `q` names (its state already chosen by the list). */
export function pageOf(list: readonly string[], q: AppQuery): AppPage {
  const lo = q.prefix ? firstAtLeast(list, q.prefix) : 0;
  // Appids are ASCII below DEL, so every one that starts with the prefix sorts before prefix + DEL.
  const hi = q.prefix ? firstAtLeast(list, `${q.prefix}\x7f`) : list.length;
  const start = q.after ? Math.max(lo, firstAfter(list, q.after)) : lo;
  const end = Math.min(hi, start + q.limit);
  const appids = list.slice(start, end);
  return { total: hi - lo, next: end < hi ? (appids[appids.length - 1] ?? null) : null, appids };
}

/** Index of the first entry not less than `key` in a sorted list. */
export function firstAtLeast(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first entry greater than `after` in a sorted list. */
export function firstAfter(sorted: readonly string[], after: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? '') <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

import { TaskUpdate } from '../contract/messages.js';
import { ApiError, badRequest, notFound } from '../contract/errors.js';
import { ValidRegistration } from '../contract/registration.js';
import { TaskKey, TaskType } from '../contract/task-type.js';
import { TaskRow } from '../store/rows.js';
import { Store } from '../store/store.js';
import { BACKOFF_CAP_MS, isUsable } from '../timing.js';
import { okBody } from './envelope.js';

/** The front's copy of one task, as last announced by its owner. */
export interface CachedTask extends TaskUpdate {
  /** The 200 answer for `value`, serialised once per value. */
  body: Buffer | null;
}

export interface Selector {
  authorizer_appid?: string;
  openid?: string;
}

export type Lookup = { ok: true; task: CachedTask } | { ok: false; error: ApiError };

function fromRow(r: TaskRow): CachedTask {
  return {
    appid: r.appid, type: r.type, sub: r.sub, value: r.value, expiresAt: r.expiresAt, state: r.state,
    lastError: r.lastError, refreshedAt: r.refreshedAt, nextRefreshAt: r.nextRefreshAt,
    authorizerAppid: r.authorizerAppid, fetchCount: r.fetchCount, failCount: r.failCount,
    body: r.value === null ? null : okBody(r.value),
  };
}

function pending(appid: string, type: TaskType, sub: string): CachedTask {
  return {
    appid, type, sub, value: null, expiresAt: null, state: 'pending', lastError: null, refreshedAt: null,
    nextRefreshAt: Date.now(), authorizerAppid: type === TaskType.AuthorizerToken && sub ? sub : null,
    fetchCount: 0, failCount: 0, body: null,
  };
}

/**
 * Latest value and status of every task, pushed by the shards, so that
 * GET /task never waits on a thread. When this generation does not own
 * the apps (during a reload hand-over) it reads through to the store for
 * anything it cannot serve, since the owner's pushes go elsewhere.
 */
export class TaskCache {
  private readonly apps = new Map<string, Map<TaskType, Map<string, CachedTask>>>();
  private readThrough = false;
  /** Grows whenever an appid may have appeared or gone (lets /apps keep a sorted index). */
  membership = 0;

  constructor(private readonly store: Store) {}

  /** Fill from the store (start, and taking ownership). */
  warm(): void {
    this.apps.clear();
    this.membership++;
    for (const row of this.store.allTasks()) this.put(fromRow(row));
  }

  setReadThrough(on: boolean): void {
    this.readThrough = on;
  }

  registered(reg: ValidRegistration): void {
    for (const t of reg.tasks) {
      if (!this.get({ appid: reg.appid, type: t.type, sub: t.sub })) this.put(pending(reg.appid, t.type, t.sub));
    }
  }

  apply(u: TaskUpdate): void {
    const prev = this.get(u);
    if (!prev) return; // removed meanwhile
    const body = prev.value === u.value ? prev.body : u.value === null ? null : okBody(u.value);
    this.put({ ...u, body });
  }

  remove(key: TaskKey): void {
    const types = this.apps.get(key.appid);
    const subs = types?.get(key.type);
    subs?.delete(key.sub);
    if (subs && subs.size === 0) types!.delete(key.type);
    if (types && types.size === 0 && this.apps.delete(key.appid)) this.membership++;
  }

  removeApp(appid: string): void {
    if (this.apps.delete(appid)) this.membership++;
  }

  hasApp(appid: string): boolean {
    return this.apps.has(appid);
  }

  appids(): string[] {
    return [...this.apps.keys()];
  }

  countByState(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const types of this.apps.values()) for (const subs of types.values()) for (const t of subs.values()) counts[t.state] = (counts[t.state] ?? 0) + 1;
    return counts;
  }

  /** Every task, without building arrays (a /metrics scrape walks 100k of them). */
  forEachTask(fn: (t: CachedTask) => void): void {
    for (const types of this.apps.values()) for (const subs of types.values()) for (const t of subs.values()) fn(t);
  }

  tasksOf(appid: string): CachedTask[] {
    const types = this.apps.get(appid);
    if (!types) return [];
    return [...types.values()].flatMap((subs) => [...subs.values()]);
  }

  /** Find the one task a query names (API.md §5 GET /task). */
  find(appid: string, type: TaskType, sel: Selector): Lookup {
    if (this.readThrough) this.refreshFromStore(appid);
    const subs = this.apps.get(appid)?.get(type);
    if (!this.apps.has(appid)) return { ok: false, error: notFound('unknown_app', `App ${appid} is not registered.`) };
    if (!subs || subs.size === 0) return { ok: false, error: notFound('unknown_task', `App ${appid} has no task of type ${type}.`) };
    const wanted = type === TaskType.AuthorizerToken ? sel.authorizer_appid : type === TaskType.OAuthToken ? sel.openid : undefined;
    const field = type === TaskType.AuthorizerToken ? 'authorizer_appid' : 'openid';
    if (wanted !== undefined && wanted !== '') {
      const t = subs.get(wanted) ?? [...subs.values()].find((c) => c.authorizerAppid === wanted);
      return t ? { ok: true, task: t } : { ok: false, error: notFound('unknown_task', `App ${appid} has no type ${type} task for ${field} ${wanted}.`) };
    }
    if (subs.size > 1) {
      return { ok: false, error: badRequest('ambiguous_task', `App ${appid} has ${subs.size} type ${type} tasks; add ?${field}= to choose one.`) };
    }
    return { ok: true, task: subs.values().next().value as CachedTask };
  }

  /** The value to serve, or the 503 that says why there is none. */
  static servable(task: CachedTask, now: number): { ok: true; body: Buffer } | { ok: false; error: ApiError } {
    if (isUsable(task.value, task.expiresAt, now) && task.body) return { ok: true, body: task.body };
    const retry = task.nextRefreshAt ? Math.ceil((task.nextRefreshAt - now) / 1000) : 1;
    const retryAfter = String(Math.min(BACKOFF_CAP_MS / 1000, Math.max(1, retry)));
    const why = task.lastError ?? 'no value has been fetched yet';
    return {
      ok: false,
      error: new ApiError(503, 'no_value', `No unexpired value for task ${task.type} of app ${task.appid} yet: ${why}.`, { 'Retry-After': retryAfter }),
    };
  }

  /** Re-read one app from the store: another generation changed it during a hand-over, and only the store knows. */
  reloadApp(appid: string): void {
    const stored = this.store.getApp(appid);
    if (this.apps.delete(appid)) this.membership++;
    if (stored) for (const row of stored.tasks) this.put(fromRow(row));
  }

  private refreshFromStore(appid: string): void {
    const cached = this.apps.get(appid);
    const now = Date.now();
    if (cached && [...cached.values()].every((subs) => [...subs.values()].every((t) => isUsable(t.value, t.expiresAt, now)))) return;
    const stored = this.store.getApp(appid);
    if (this.apps.delete(appid)) this.membership++;
    if (stored) for (const row of stored.tasks) this.put(fromRow(row));
  }

  private get(k: TaskKey): CachedTask | undefined {
    return this.apps.get(k.appid)?.get(k.type)?.get(k.sub);
  }

  private put(t: CachedTask): void {
    let types = this.apps.get(t.appid);
    if (!types) {
      this.apps.set(t.appid, (types = new Map()));
      this.membership++;
    }
    let subs = types.get(t.type);
    if (!subs) types.set(t.type, (subs = new Map()));
    subs.set(t.sub, t);
  }
}

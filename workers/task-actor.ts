import { RefreshOutcome, TaskUpdate } from '../lib/contract/messages.js';
import { TaskKey, TaskType, TASK_NAMES } from '../lib/contract/task-type.js';
import { mask } from '../lib/log.js';
import { TaskRegistration, TaskRow, TaskState, TaskStateRow, TaskStateUpdate } from '../lib/store/rows.js';
import { backoffMs, BACKOFF_CAP_MS, isUsable, refreshAt, refreshWindow, stableRefreshAt } from '../lib/timing.js';
import { WechatFailure, WechatSuccess } from '../lib/wechat/wechat-client.js';
import { scrubSecrets } from '../lib/wechat/scrub.js';
import { callbackQuery } from './callbacks.js';
import { lookUpRefreshToken } from './component-recovery.js';
import { Attempt, fetchStep } from './fetch-step.js';
import { AppContext, DependencyHandle } from './services.js';
import { TimerEntry } from './refresh-timers.js';
import { StableForceBudget } from './stable-force.js';

/** Every actor's first outcome: one shared object, as most never see a passive refresh. */
const NOTHING_FETCHED: RefreshOutcome = Object.freeze({ result: 'current' });

/**
 * One credential of one app: a small state machine
 * pending → (fetching) → ready → (refreshing) … failing,
 * owning its place in the shard's timers, its value and its refresh token.
 * Only this actor, in this thread, fetches this task; its state is written
 * to the store before anybody (front, notify, dependents) hears of it.
 */
export class TaskActor implements DependencyHandle, TimerEntry {
  private reg: TaskRegistration;
  /**
   * What this actor learned from WeChat. At first the very row `reg` is:
   * its state fields are read here, its registration fields through `reg`,
   * so a second copy of the row is not needed (a new registration replaces
   * `reg` only).
   */
  private readonly st: TaskStateRow;
  /** Place in the shard's RefreshTimers (-1: no refresh scheduled). */
  heapIndex = -1;
  private inflight: Promise<void> | null = null;
  private failures = 0;
  private attemptStartedAt = 0;
  /** How the last fetch ended, for passive-refresh callers that shared it. */
  private lastOutcome: RefreshOutcome = NOTHING_FETCHED;
  /** stable_token force_refresh budget of this appid (type 0 only); made when a forced call is first considered. */
  private forceBudget: StableForceBudget | null = null;
  private rejectedRefreshToken: string | null = null;
  private rejectedTicket: string | null = null;
  /** Dependents waiting for the next value; null while none (most tasks have none). */
  private valueWaiters: Array<() => void> | null = null;
  private stopped = false;
  /** Ownership moved away: nothing new starts here, but a fetch in flight still lands. */
  private released = false;

  constructor(private readonly ctx: AppContext, row: TaskRow) {
    this.reg = row;
    this.st = row;
  }

  /** A fresh object each time: cheaper than one kept per task, and safe to hand out. */
  get key(): TaskKey {
    const { appid, type, sub } = this.reg;
    return { appid, type, sub };
  }

  /** Whether this is the task of that type and sub (without making a key). */
  is(type: TaskType, sub: string): boolean {
    return this.reg.type === type && this.reg.sub === sub;
  }

  /** Start from the stored state: an unexpired value is kept until its refresh time. */
  start(): void {
    const now = Date.now();
    const secretChanged = this.usesSecret() && this.st.fetchedSecretGen < this.ctx.app().secretGen;
    if (!secretChanged && isUsable(this.st.value, this.st.expiresAt, now) && this.st.expiresIn !== null) {
      const latest = this.usesStableToken() ? stableRefreshAt(this.st.expiresAt!, this.st.expiresIn, 1) : refreshAt(this.st.expiresAt!, this.st.expiresIn);
      this.schedule(Math.min(this.st.nextRefreshAt ?? latest, latest));
    } else {
      this.schedule(now);
    }
  }

  /** A new registration for this task: take its settings; retry at once when failing. */
  updateRegistration(row: TaskRow): void {
    const newRegistration = row.regGen !== this.reg.regGen;
    this.reg = row;
    if (row.refreshToken && row.refreshToken !== this.st.refreshToken) {
      this.st.refreshToken = row.refreshToken; // an inline refresh token replaces the kept one
      this.rejectedRefreshToken = null;
    }
    if (newRegistration) {
      this.rejectedTicket = null;
      if (this.st.state !== 'ready') {
        this.failures = 0;
        this.schedule(Date.now());
      }
    }
  }

  /** This task's registration (its settings), to read. */
  registration(): TaskRegistration {
    return this.reg;
  }

  /** A value WeChat handed over outside a fetch (api_query_auth of an authorization): kept as if fetched. */
  async adopt(res: WechatSuccess, authorizerAppid: string): Promise<void> {
    if (this.stopped || this.released) return;
    this.attemptStartedAt = Date.now();
    await this.succeeded(res, null, authorizerAppid, this.ctx.app().secretGen);
  }

  /** The appsecret changed: types 0 and 3 refetch at once. */
  secretChanged(): void {
    if (this.usesSecret()) this.schedule(Date.now());
  }

  /** A dependency appeared or went away: look again. */
  dependencyChanged(): void {
    if (this.usableValue() === null || this.st.state === 'failing') {
      this.failures = 0;
      this.schedule(Date.now());
    }
  }

  stop(): void {
    this.stopped = true;
    this.ctx.services.timers.cancel(this);
    this.wakeWaiters();
  }

  /**
   * Ownership moves to another generation (SIGHUP): no timer fires and no
   * fetch starts here any more, but a fetch already in flight still lands in
   * the store. WeChat has replaced the old value (and rotated a refresh token)
   * by then, and the next owner must start from the new one, not fetch again.
   */
  release(): void {
    this.released = true;
    this.ctx.services.timers.cancel(this);
  }

  /** Resolves when no fetch is in flight (used when handing ownership over). */
  idle(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  usableValue(): string | null {
    return isUsable(this.st.value, this.st.expiresAt, Date.now()) ? this.st.value : null;
  }

  onNextValue(wake: () => void): void {
    (this.valueWaiters ??= []).push(wake);
  }

  /** A dependent's call was rejected with this value: the same compare-and-swap as a passive refresh. */
  async refreshIfStale(stale: string): Promise<void> {
    await this.forceRefresh(stale, 0);
  }

  /**
   * Forced ("passive") refresh of docs/api.md §5. With `stale`: a compare-and-swap,
   * fetching only while the current value is `stale` (a stable_token is then
   * fetched with force_refresh, within WeChat's budget). Without: at most one
   * fetch per `minIntervalMs`, whatever started the last one. Concurrent
   * callers share one fetch: a fetch in flight answers everyone waiting.
   */
  async forceRefresh(stale: string | undefined, minIntervalMs: number): Promise<RefreshOutcome> {
    let shared = false;
    for (;;) {
      if (this.stopped || this.released) return { result: 'failed', note: 'this task is being unregistered or handed over; try again' };
      if (this.inflight) {
        shared = true;
        await this.inflight;
        // Without stale any fresh fetch will do; with stale, compare again with what it brought.
        if (stale === undefined) return this.lastOutcome;
        continue;
      }
      if (stale !== undefined && this.st.value !== stale) {
        // Someone's fetch replaced it: say "fetched" only when it was a shared fetch that brought it.
        return shared && this.lastOutcome.result === 'fetched' ? this.lastOutcome : { result: 'current', note: 'stale is not the current value, which is returned instead' };
      }
      if (stale === undefined) {
        const since = Date.now() - Math.max(this.attemptStartedAt, this.st.refreshedAt ?? 0);
        if (since < minIntervalMs) {
          return { result: 'current', note: `fetched ${Math.floor(since / 1000)} s ago; without "stale" at most once per ${minIntervalMs / 1000} s` };
        }
      }
      // The shared fetch failed, or kept the stale value after failing: report that, do not hammer WeChat.
      if (shared && this.lastOutcome.result === 'failed') return this.lastOutcome;
      await this.run(stale !== undefined);
      return this.lastOutcome;
    }
  }

  /** Spelled out rather than `{ ...this.key, … }`: a spread then more fields makes a hidden class per object. */
  snapshot(): TaskUpdate {
    const s = this.st;
    const r = this.reg;
    return {
      appid: r.appid, type: r.type, sub: r.sub, value: s.value, expiresAt: s.expiresAt, state: s.state, lastError: s.lastError,
      refreshedAt: s.refreshedAt, nextRefreshAt: s.nextRefreshAt, authorizerAppid: s.authorizerAppid,
      fetchCount: s.fetchCount, failCount: s.failCount,
    };
  }

  private usesStableToken(): boolean {
    return this.reg.type === TaskType.AccessToken && (this.reg.stable || this.ctx.services.settings.stableToken);
  }

  private usesSecret(): boolean {
    const type = this.reg.type;
    return type === TaskType.AccessToken || type === TaskType.ComponentToken;
  }

  /** The shard's timer reached this task's refresh time. */
  fire(): Promise<void> {
    return this.run(false);
  }

  private schedule(at: number): void {
    if (this.stopped || this.released) return;
    this.st.nextRefreshAt = at;
    this.ctx.services.timers.schedule(this, at);
  }

  private run(force: boolean): Promise<void> {
    if (this.stopped || (this.released && !this.inflight)) return this.inflight ?? Promise.resolve();
    if (!this.inflight) {
      this.inflight = this.fetchAndApply(force).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async fetchAndApply(force: boolean): Promise<void> {
    const secretGen = this.ctx.app().secretGen;
    let attempt = await this.attempt(force);
    // A dependency value WeChat rejected: refresh the dependency first, then retry once.
    if (attempt.kind === 'fail' && attempt.res.errorClass === 'dependency' && !this.stopped) {
      if (attempt.dep) await attempt.dep.handle.refreshIfStale(attempt.dep.value);
      attempt = await this.attempt(force);
    }
    // An authorizer refresh token WeChat calls invalid (61023): look its current one up, and retry once.
    if (attempt.kind === 'fail' && attempt.res.errcode === 61023 && this.reg.type === TaskType.AuthorizerToken && !this.stopped) {
      const current = await lookUpRefreshToken(this.ctx, this.reg.sub || this.st.authorizerAppid || '', attempt.refreshTokenUsed?.value);
      if (current && !this.stopped) {
        this.st.refreshToken = current;
        this.rejectedRefreshToken = null;
        attempt = await this.attempt(force);
      }
    }
    // A kept refresh token WeChat rejected: fall back to the one from params, once.
    if (attempt.kind === 'fail' && attempt.res.errorClass === 'refresh_token' && attempt.refreshTokenUsed?.kept && !this.stopped) {
      this.rejectedRefreshToken = attempt.refreshTokenUsed.value;
      attempt = await this.attempt(force);
    }
    if (this.stopped) return;
    if (attempt.kind === 'ok') this.lastOutcome = { result: 'fetched', ...(attempt.stable?.note ? { note: attempt.stable.note } : {}) };
    else this.lastOutcome = { result: 'failed', note: this.scrub(attempt.kind === 'wait' ? attempt.message : attempt.res.message) };
    if (attempt.kind === 'ok') await this.succeeded(attempt.res, attempt.refreshTokenUsed, attempt.authorizerAppid, secretGen);
    else if (attempt.kind === 'wait') await this.waitFor(attempt.handle, attempt.message);
    else await this.failed(attempt.res, attempt);
  }

  private attempt(force: boolean): Promise<Attempt> {
    // WeChat's clock for expires_in starts when it answers; counting from the request keeps us on the safe side.
    this.attemptStartedAt = Date.now();
    return fetchStep(this.ctx, {
      key: this.key, reg: this.reg, keptRefreshToken: this.st.refreshToken, authorizerAppid: this.st.authorizerAppid,
      rejectedRefreshToken: this.rejectedRefreshToken, rejectedTicket: this.rejectedTicket, force, forceBudget: () => (this.forceBudget ??= new StableForceBudget()),
      currentValue: this.st.value,
    });
  }

  private async succeeded(res: WechatSuccess, rtUsed: string | null, authorizerAppid: string | null, secretGen: number): Promise<void> {
    const now = Date.now();
    const expiresAt = this.attemptStartedAt + res.expiresIn * 1000;
    this.failures = 0;
    this.rejectedRefreshToken = null;
    this.rejectedTicket = null;
    const next = this.usesStableToken() ? stableRefreshAt(expiresAt, res.expiresIn) : this.bookRefresh(expiresAt, res.expiresIn);
    const refreshToken = res.refreshToken ?? rtUsed ?? this.st.refreshToken;
    await this.persist({
      value: res.value, expiresAt, expiresIn: res.expiresIn, refreshedAt: now, fetchedSecretGen: secretGen,
      refreshToken, authorizerAppid: authorizerAppid ?? this.st.authorizerAppid, state: 'ready', lastError: null,
      nextRefreshAt: next, fetchCount: this.st.fetchCount + 1, failCount: this.st.failCount,
    });
    if (this.stopped) return;
    this.ctx.services.emit({ kind: 'fetch', type: this.key.type, ok: true, errcode: null });
    const { appid, type, sub } = this.reg;
    this.ctx.services.log.info({ appid, type, sub, value: mask(res.value), expiresIn: res.expiresIn }, `${TASK_NAMES[type]} refreshed`);
    if (this.reg.notify) this.ctx.services.callbacks.notify(this.reg.notify, callbackQuery(this.key, this.st.authorizerAppid), res.raw);
    this.schedule(next);
    this.wakeWaiters();
  }

  private bookRefresh(expiresAt: number, expiresIn: number): number {
    const { earliest, latest } = refreshWindow(expiresAt, expiresIn);
    return this.ctx.services.calendar.book(earliest, latest);
  }

  private async failed(res: WechatFailure, attempt: Attempt & { kind: 'fail' }): Promise<void> {
    this.failures++;
    if (attempt.ticketUsed && res.errorClass === 'ticket') this.rejectedTicket = attempt.ticketUsed;
    if (attempt.refreshTokenUsed && res.errorClass === 'refresh_token') this.rejectedRefreshToken = attempt.refreshTokenUsed.value;
    // Configuration errors keep retrying at the cap; the rest back off from 1 s.
    const delay = res.errorClass === 'configuration' ? BACKOFF_CAP_MS : backoffMs(this.failures);
    const message = this.scrub(res.message);
    const keptRejected = res.errorClass === 'refresh_token' && attempt.refreshTokenUsed?.kept === true;
    await this.persist({
      ...this.stateFields(), state: 'failing', lastError: message, nextRefreshAt: Date.now() + delay,
      failCount: this.st.failCount + 1, ...(keptRejected ? { refreshToken: null } : {}),
    });
    if (this.stopped) return;
    this.ctx.services.emit({ kind: 'fetch', type: this.key.type, ok: false, errcode: res.errcode });
    this.ctx.services.log.warn({ ...this.key, errcode: res.errcode, class: res.errorClass, retryInMs: delay, error: message }, 'fetch failed');
    this.schedule(Date.now() + delay);
  }

  private async waitFor(dep: DependencyHandle, message: string): Promise<void> {
    const state: TaskState = this.st.value === null ? 'pending' : this.st.state;
    await this.persist({ ...this.stateFields(), state, lastError: message, nextRefreshAt: null });
    if (this.stopped) return;
    this.ctx.services.timers.cancel(this);
    dep.onNextValue(() => this.schedule(Date.now()));
  }

  private stateFields(): TaskStateUpdate {
    const { value, expiresAt, expiresIn, refreshedAt, fetchedSecretGen, authorizerAppid, state, lastError, nextRefreshAt, fetchCount, failCount } = this.st;
    return { value, expiresAt, expiresIn, refreshedAt, fetchedSecretGen, authorizerAppid, state, lastError, nextRefreshAt, fetchCount, failCount };
  }

  /** Durable first, then announced to the front. */
  private async persist(update: TaskStateUpdate): Promise<void> {
    const { refreshToken, ...rest } = update;
    Object.assign(this.st, rest);
    if (refreshToken !== undefined) this.st.refreshToken = refreshToken;
    await this.ctx.services.store.saveState(this.key, update);
    if (!this.stopped) this.ctx.services.emit({ kind: 'task', update: this.snapshot() });
  }

  /** WeChat's messages never echo a secret, but never trust that (every spelling: scrub.ts). */
  private scrub(message: string): string {
    return scrubSecrets(message, [this.ctx.app().secret]);
  }

  private wakeWaiters(): void {
    const waiters = this.valueWaiters;
    if (!waiters) return;
    this.valueWaiters = null;
    for (const w of waiters) w();
  }
}

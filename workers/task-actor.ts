import { RefreshOutcome, TaskUpdate } from '../lib/contract/messages.js';
import { TaskKey, TaskType, TASK_NAMES } from '../lib/contract/task-type.js';
import { mask } from '../lib/log.js';
import { FencedWrite } from '../lib/contract/errors.js';
import { TaskRegistration, TaskRow, TaskState, TaskStateRow, TaskStateUpdate } from '../lib/store/rows.js';
import {
  backoffMs,
  BACKOFF_CAP_MS,
  isUsable,
  monoNow,
  refreshAt,
  refreshWindow,
  stableRefreshAt,
  STORE_RETRY_CAP_MS,
} from '../lib/timing.js';
import { WechatSuccess } from '../lib/wechat/wechat-client.js';
import { scrubSecrets } from '../lib/wechat/scrub.js';
import { Actor } from './actor.js';
import { callbackQuery } from './callbacks.js';
import { lookUpRefreshToken } from './component-recovery.js';
import { Attempt, fetchStep } from './fetch-step.js';
import { AppContext, DependencyHandle } from './shard-services.js';
import { TimerEntry } from './refresh-timers.js';
import { StableForceBudget } from './stable-force.js';

/**
 * What a task actor is told. `timer`: its refresh time (or a write retry)
 * came; `registration`: a new registration of this task; `inputs`: the
 * app's secret or verify ticket changed; `dependency`: the task it depends
 * on appeared, went, or has a value; `refresh`: a forced refresh, answered
 * through `reply`; `fetched`, `stored`, `store-failed`: its own slow work
 * coming back; `stop`: the task was deleted; `release`: ownership moves away.
 */
export type TaskMessage =
  | { kind: 'timer' }
  | { kind: 'registration'; row: TaskRegistration; refreshToken: string | null }
  | { kind: 'inputs'; secret: boolean }
  | { kind: 'dependency'; woken: boolean }
  | { kind: 'refresh'; stale: string | undefined; minIntervalMs: number; reply: (o: RefreshOutcome) => void }
  | { kind: 'fetched'; attempt: Attempt; startedAt: number; secretGen: number; rejectedRefreshToken: string | null }
  | { kind: 'stored'; write: PendingWrite }
  | { kind: 'store-failed'; write: PendingWrite; error: Error }
  | { kind: 'adopt'; res: WechatSuccess; authorizerAppid: string; done: () => void }
  | { kind: 'restored'; row: TaskRow | null | undefined }
  | { kind: 'stop' }
  | { kind: 'release' };

/** A state write and what happens once the store acknowledged it. */
interface PendingWrite {
  update: TaskStateUpdate;
  outcome: RefreshOutcome;
  /** Announce a fetch (metrics, log, notify) after the write. */
  fetched?:
    | { ok: true; raw: Record<string, unknown>; expiresIn: number }
    | { ok: false; errcode: number | null; errorClass: string; message: string };
  /** When to look again (epoch ms), or null to wait for the dependency. */
  next: number | null;
  waitFor?: DependencyHandle;
  rejectedRefreshToken: string | null;
  rejectedTicket: string | null;
  failures: number;
  /** Called once the write was acknowledged or given up. */
  onStored?: () => void;
}

interface RefreshWaiter {
  stale: string | undefined;
  reply: (o: RefreshOutcome) => void;
  /** Joined a fetch started for somebody else (which may not have been forced). */
  joined: boolean;
}

/** Every actor's first outcome: one shared object, as most never see a passive refresh. */
const NOTHING_FETCHED: RefreshOutcome = Object.freeze({ result: 'current' });

type Phase = 'idle' | 'fetching' | 'writing' | 'write-failed';

/**
 * One credential of one app: a small state machine
 * pending → (fetching) → ready → (refreshing) … failing.
 * Only this actor, in this thread, fetches this task. Its state changes only
 * here, and only after the store acknowledged the write; only then do the
 * front, the notify URL and dependents hear of it. A write the store rejects
 * is logged and retried with back-off, never dropped.
 */
export class TaskActor extends Actor<TaskMessage> implements DependencyHandle, TimerEntry {
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
  private phase: Phase = 'idle';
  /** A fetch should start once the mailbox is empty. */
  private wantFetch = false;
  private wantForce = false;
  /** A registration changed what the fetch in flight was made with: fetch again right after it. */
  private inputsChanged = false;
  private failures = 0;
  private writeFailures = 0;
  private attemptStartedAt = 0;
  private lastOutcome: RefreshOutcome = NOTHING_FETCHED;
  /** stable_token force_refresh budget of this appid (type 0 only); made when a forced call is first considered. */
  private forceBudget: StableForceBudget | null = null;
  private rejectedRefreshToken: string | null = null;
  private rejectedTicket: string | null = null;
  /** A write the store rejected, retried on the timer. */
  private pendingWrite: PendingWrite | null = null;
  /** Forced refreshes waiting for the fetch in flight (or about to start). */
  private refreshWaiters: RefreshWaiter[] | null = null;
  /** Dependents waiting for the next value; null while none (most tasks have none). */
  private valueWaiters: Array<() => void> | null = null;
  /** Callers waiting until nothing is in flight (timers, hand-over, a successor). */
  private idleWaiters: Array<() => void> | null = null;
  private stopped = false;
  /** Crashed: nothing starts until the state was read back from the store. */
  private restoring = false;
  /** Ownership moved away: nothing new starts here, but a fetch in flight still lands. */
  private released = false;
  /** A predecessor of the same task (deleted, re-registered) still has a fetch in flight. */
  private held = false;

  constructor(
    private readonly ctx: AppContext,
    row: TaskRow,
    after?: Promise<unknown>,
  ) {
    super();
    this.reg = row;
    this.st = row;
    if (after) {
      this.held = true;
      void after.then(() => {
        this.held = false;
        this.tell({ kind: 'dependency', woken: false });
      });
    }
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
      const latest = this.usesStableToken()
        ? stableRefreshAt(this.st.expiresAt!, this.st.expiresIn, 1)
        : refreshAt(this.st.expiresAt!, this.st.expiresIn);
      this.schedule(Math.min(this.st.nextRefreshAt ?? latest, latest));
    } else {
      this.schedule(now);
    }
  }

  /** This task's registration (its settings), to read. */
  registration(): TaskRegistration {
    return this.reg;
  }

  /**
   * A value WeChat handed over outside a fetch (api_query_auth of an
   * authorization): kept as if fetched, once stored. Resolves when stored
   * (or when the actor could not take it).
   */
  adopt(res: WechatSuccess, authorizerAppid: string): Promise<void> {
    return new Promise((done) => this.tell({ kind: 'adopt', res, authorizerAppid, done }));
  }

  /** A dependency appeared or went away, or an input it waits for arrived: look again. */
  dependencyChanged(): void {
    this.tell({ kind: 'dependency', woken: false });
  }

  /** Forced ("passive") refresh; see `refresh` in receive(). */
  refresh(stale: string | undefined, minIntervalMs: number): Promise<RefreshOutcome> {
    return new Promise((reply) => this.tell({ kind: 'refresh', stale, minIntervalMs, reply }));
  }

  /** Resolves when no fetch or write is in flight (handing ownership over, a successor waiting). */
  idle(): Promise<void> {
    if (this.phase === 'idle' || this.phase === 'write-failed') return Promise.resolve();
    return new Promise((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  usableValue(): string | null {
    return isUsable(this.st.value, this.st.expiresAt, Date.now()) ? this.st.value : null;
  }

  onNextValue(wake: () => void): void {
    (this.valueWaiters ??= []).push(wake);
  }

  /** A dependent's call was rejected with this value: the same compare-and-swap as a passive refresh. */
  async refreshIfStale(stale: string): Promise<void> {
    await this.refresh(stale, 0);
  }

  /** The shard's timer reached this task's time; settles when the work it started is done. */
  fire(): Promise<void> {
    this.tell({ kind: 'timer' });
    // The timer message is handled in a microtask; ask for idleness after it.
    return Promise.resolve().then(() => this.idle());
  }

  /** Spelled out rather than `{ ...this.key, … }`: a spread then more fields makes a hidden class per object. */
  snapshot(): TaskUpdate {
    const s = this.st;
    const r = this.reg;
    return {
      appid: r.appid,
      type: r.type,
      sub: r.sub,
      value: s.value,
      expiresAt: s.expiresAt,
      state: s.state,
      lastError: s.lastError,
      refreshedAt: s.refreshedAt,
      nextRefreshAt: s.nextRefreshAt,
      authorizerAppid: s.authorizerAppid,
      fetchCount: s.fetchCount,
      failCount: s.failCount,
      seq: monoNow(),
    };
  }

  protected receive(m: TaskMessage): void {
    switch (m.kind) {
      case 'timer':
        return this.onTimer();
      case 'registration':
        return this.onRegistration(m.row, m.refreshToken);
      case 'inputs':
        // The appsecret (types 0 and 3) or the verify ticket (type 3) changed.
        if (!this.usesSecret()) return;
        if (this.phase === 'fetching') this.inputsChanged = true;
        else if (m.secret) this.schedule(Date.now());
        return;
      case 'dependency':
        if (m.woken || this.usableValue() === null || this.st.state === 'failing') {
          this.failures = 0;
          this.schedule(Date.now());
        }
        return;
      case 'refresh':
        return this.onRefresh(m.stale, m.minIntervalMs, m.reply);
      case 'fetched':
        return this.onFetched(m);
      case 'stored':
        return this.onStored(m.write);
      case 'store-failed':
        return this.onStoreFailed(m.write, m.error);
      case 'adopt':
        return this.onAdopt(m.res, m.authorizerAppid, m.done);
      case 'restored':
        return this.onRestored(m.row);
      case 'stop':
        this.stopped = true;
        this.ctx.services.timers.cancel(this);
        this.answerWaiters({ result: 'failed', note: 'this task was unregistered' });
        this.wakeDependents();
        this.settleIfIdle();
        return;
      case 'release':
        this.released = true;
        this.ctx.services.timers.cancel(this);
        this.answerWaiters({ result: 'failed', note: 'this task is being handed over to a new generation; try again' });
        this.settleIfIdle();
        return;
    }
  }

  protected drained(): void {
    if (!this.wantFetch || this.phase !== 'idle' || this.stopped || this.released || this.held || this.restoring)
      return;
    const force = this.wantForce;
    this.wantFetch = false;
    this.wantForce = false;
    this.startFetch(force);
  }

  /**
   * A handler threw: what this actor holds in memory may be half-changed.
   * Forget what is in flight, say so, and after a back-off start again from
   * the state the store holds (the last one acknowledged).
   */
  protected crashed(err: unknown): void {
    this.failures++;
    const delay = backoffMs(this.failures, STORE_RETRY_CAP_MS);
    this.ctx.services.log.error(
      { ...this.key, err: (err as Error)?.message ?? String(err), retryInMs: delay },
      'task actor failed; restarting it from the store',
    );
    this.phase = 'idle';
    this.pendingWrite = null;
    this.wantFetch = false;
    this.restoring = true;
    this.answerWaiters({ result: 'failed', note: 'internal error; retrying' });
    this.settleIfIdle();
    this.ctx.services.timers.cancel(this);
    setTimeout(() => {
      const { appid, type, sub } = this.reg;
      this.ctx.services.store.getApp(appid).then(
        (stored) =>
          this.tell({ kind: 'restored', row: stored?.tasks.find((t) => t.type === type && t.sub === sub) ?? null }),
        () => this.tell({ kind: 'restored', row: undefined }),
      );
    }, delay).unref();
  }

  /** The stored state after a crash: null, the task is gone; undefined, the store could not be read (again later). */
  private onRestored(row: TaskRow | null | undefined): void {
    if (this.stopped || this.released) return;
    if (row === undefined) return this.crashed(new Error('the store could not be read to restart the task'));
    this.restoring = false;
    if (row === null) return this.ctx.services.log.warn(this.key, 'task gone from the store while restarting');
    Object.assign(this.st, stateFieldsOf(row), { refreshToken: row.refreshToken });
    this.ctx.services.emit({ kind: 'task', update: this.snapshot() });
    this.start();
  }

  private onTimer(): void {
    if (this.stopped || this.released) return;
    if (this.phase === 'write-failed') return this.retryWrite();
    // A fetch or write in flight answers this timer too: it schedules the next one itself.
    if (this.phase === 'idle') this.wantFetch = true;
  }

  private onRegistration(row: TaskRegistration, refreshToken: string | null): void {
    const newRegistration = row.regGen !== this.reg.regGen;
    const paramsChanged =
      JSON.stringify(row.params) !== JSON.stringify(this.reg.params) || row.stable !== this.reg.stable;
    this.reg = row;
    let tokenChanged = false;
    // Only a new registration brings a refresh token: a read of the store racing this actor's own
    // write (a reload in cluster mode) must not put back the one that write replaced.
    if (newRegistration && refreshToken && refreshToken !== this.st.refreshToken) {
      // The registration wrote it to the store already: an inline refresh token replaces the kept one.
      this.st.refreshToken = refreshToken;
      this.rejectedRefreshToken = null;
      tokenChanged = true;
    }
    if (!newRegistration) return;
    this.rejectedTicket = null;
    if (this.phase === 'fetching' && (paramsChanged || tokenChanged)) this.inputsChanged = true;
    if (this.st.state !== 'ready') {
      this.failures = 0;
      if (this.phase !== 'fetching') this.schedule(Date.now());
    }
  }

  /**
   * Forced ("passive") refresh. With `stale`: a compare-and-swap, fetching
   * only while the current value is `stale` (a stable_token is then fetched
   * with force_refresh, within WeChat's budget). Without: at most one fetch
   * per `minIntervalMs`, whatever started the last one. Callers arriving
   * while a fetch is in flight share it.
   */
  private onRefresh(stale: string | undefined, minIntervalMs: number, reply: (o: RefreshOutcome) => void): void {
    if (this.stopped || this.released)
      return reply({ result: 'failed', note: 'this task is being unregistered or handed over; try again' });
    if (this.phase === 'write-failed') {
      return reply({
        result: 'failed',
        note: `the last value could not be stored (${this.lastOutcome.note ?? 'store error'}); retrying`,
      });
    }
    if (this.phase === 'fetching' || this.phase === 'writing') {
      (this.refreshWaiters ??= []).push({ stale, reply, joined: true });
      return;
    }
    if (stale !== undefined && this.st.value !== stale) {
      return reply({ result: 'current', note: 'stale is not the current value, which is returned instead' });
    }
    if (stale === undefined && !this.wantFetch) {
      const since = Date.now() - Math.max(this.attemptStartedAt, this.st.refreshedAt ?? 0);
      if (since < minIntervalMs) {
        return reply({
          result: 'current',
          note: `fetched ${Math.floor(since / 1000)} s ago; without "stale" at most once per ${minIntervalMs / 1000} s`,
        });
      }
    }
    (this.refreshWaiters ??= []).push({ stale, reply, joined: false });
    this.wantFetch = true;
    this.wantForce = this.wantForce || stale !== undefined;
  }

  private onAdopt(res: WechatSuccess, authorizerAppid: string, done: () => void): void {
    if (this.stopped || this.released) return done();
    if (this.phase === 'fetching' || this.phase === 'writing') {
      // After what is in flight: handled again once this actor is idle.
      void this.idle().then(() => this.tell({ kind: 'adopt', res, authorizerAppid, done }));
      return;
    }
    this.pendingWrite = null;
    const now = Date.now();
    const w = this.success({ kind: 'ok', res, refreshTokenUsed: null, authorizerAppid }, now, this.ctx.app().secretGen);
    w.onStored = done;
    this.write(w);
  }

  private startFetch(force: boolean): void {
    this.phase = 'fetching';
    this.inputsChanged = false;
    this.ctx.services.timers.cancel(this);
    const secretGen = this.ctx.app().secretGen;
    // WeChat's clock for expires_in starts when it answers; counting from the request keeps us on the safe side.
    const startedAt = (this.attemptStartedAt = Date.now());
    this.fetch(force).then(
      ({ attempt, rejectedRefreshToken }) =>
        this.tell({ kind: 'fetched', attempt, startedAt, secretGen, rejectedRefreshToken }),
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        const attempt: Attempt = { kind: 'fail', res: { ok: false, errorClass: 'transient', errcode: null, message } };
        this.tell({ kind: 'fetched', attempt, startedAt, secretGen, rejectedRefreshToken: this.rejectedRefreshToken });
      },
    );
  }

  /** The slow part, outside the mailbox: one attempt, and the retries WeChat's answer calls for. */
  private async fetch(force: boolean): Promise<{ attempt: Attempt; rejectedRefreshToken: string | null }> {
    let rejected = this.rejectedRefreshToken;
    let kept: string | null = this.st.refreshToken;
    let attempt = await this.attempt(force, rejected, kept);
    // A dependency value WeChat rejected: refresh the dependency first, then retry once.
    if (attempt.kind === 'fail' && attempt.res.errorClass === 'dependency' && attempt.dep && !this.stopped) {
      await attempt.dep.handle.refreshIfStale(attempt.dep.value);
      attempt = await this.attempt(force, rejected, kept);
    }
    // An authorizer refresh token WeChat calls invalid (61023): look its current one up, and retry once with it.
    if (
      attempt.kind === 'fail' &&
      attempt.res.errcode === 61023 &&
      this.reg.type === TaskType.AuthorizerToken &&
      !this.stopped
    ) {
      const current = await lookUpRefreshToken(
        this.ctx,
        this.reg.sub || this.st.authorizerAppid || '',
        attempt.refreshTokenUsed?.value,
      );
      if (current && !this.stopped) {
        kept = current;
        rejected = null;
        attempt = await this.attempt(force, rejected, kept);
      }
    }
    // A kept refresh token WeChat rejected: fall back to the one from params, once.
    if (
      attempt.kind === 'fail' &&
      attempt.res.errorClass === 'refresh_token' &&
      attempt.refreshTokenUsed?.kept &&
      !this.stopped
    ) {
      rejected = attempt.refreshTokenUsed.value;
      attempt = await this.attempt(force, rejected, kept);
    }
    return { attempt, rejectedRefreshToken: rejected };
  }

  private attempt(
    force: boolean,
    rejectedRefreshToken: string | null,
    keptRefreshToken: string | null,
  ): Promise<Attempt> {
    return fetchStep(this.ctx, {
      key: this.key,
      reg: this.reg,
      keptRefreshToken,
      authorizerAppid: this.st.authorizerAppid,
      rejectedRefreshToken,
      rejectedTicket: this.rejectedTicket,
      force,
      forceBudget: () => (this.forceBudget ??= new StableForceBudget()),
      currentValue: this.st.value,
    });
  }

  private onFetched(m: TaskMessage & { kind: 'fetched' }): void {
    const inputsChanged = this.inputsChanged;
    this.inputsChanged = false;
    if (this.stopped) {
      // Deleted meanwhile: the answer belongs to nobody, and must not land on a task registered anew.
      this.phase = 'idle';
      this.settleIfIdle();
      return;
    }
    const { attempt } = m;
    if (inputsChanged && attempt.kind !== 'ok' && !this.released) {
      // Made with what the registration replaced: its failure says nothing about the new inputs.
      this.phase = 'idle';
      this.failures = 0;
      this.wantFetch = true;
      this.settleIfIdle();
      return;
    }
    let write: PendingWrite;
    if (attempt.kind === 'ok') write = this.success(attempt, m.startedAt, m.secretGen);
    else if (attempt.kind === 'wait') write = this.waiting(attempt.handle, attempt.message, m.rejectedRefreshToken);
    else write = this.failure(attempt, m.rejectedRefreshToken);
    if (inputsChanged) write.next = Date.now();
    this.write(write);
  }

  private success(attempt: Attempt & { kind: 'ok' }, startedAt: number, secretGen: number): PendingWrite {
    const res = attempt.res;
    const expiresAt = startedAt + res.expiresIn * 1000;
    const next = this.usesStableToken()
      ? stableRefreshAt(expiresAt, res.expiresIn)
      : this.bookRefresh(expiresAt, res.expiresIn);
    const refreshToken = res.refreshToken ?? attempt.refreshTokenUsed ?? this.st.refreshToken;
    return {
      update: {
        value: res.value,
        expiresAt,
        expiresIn: res.expiresIn,
        refreshedAt: Date.now(),
        fetchedSecretGen: secretGen,
        refreshToken,
        authorizerAppid: attempt.authorizerAppid ?? this.st.authorizerAppid,
        state: 'ready',
        lastError: null,
        nextRefreshAt: next,
        fetchCount: this.st.fetchCount + 1,
        failCount: this.st.failCount,
      },
      outcome: { result: 'fetched', ...(attempt.stable?.note ? { note: attempt.stable.note } : {}) },
      fetched: { ok: true, raw: res.raw, expiresIn: res.expiresIn },
      next,
      rejectedRefreshToken: null,
      rejectedTicket: null,
      failures: 0,
    };
  }

  private failure(attempt: Attempt & { kind: 'fail' }, rejectedRefreshToken: string | null): PendingWrite {
    const res = attempt.res;
    const failures = this.failures + 1;
    // Configuration errors keep retrying at the cap; the rest back off from 1 s.
    const delay = res.errorClass === 'configuration' ? BACKOFF_CAP_MS : backoffMs(failures);
    const message = this.scrub(res.message);
    const keptRejected = res.errorClass === 'refresh_token' && attempt.refreshTokenUsed?.kept === true;
    const next = Date.now() + delay;
    return {
      update: {
        ...this.stateFields(),
        state: 'failing',
        lastError: message,
        nextRefreshAt: next,
        failCount: this.st.failCount + 1,
        ...(keptRejected ? { refreshToken: null } : {}),
      },
      outcome: { result: 'failed', note: message },
      fetched: { ok: false, errcode: res.errcode, errorClass: res.errorClass, message },
      next,
      rejectedRefreshToken:
        attempt.refreshTokenUsed && res.errorClass === 'refresh_token'
          ? attempt.refreshTokenUsed.value
          : rejectedRefreshToken,
      rejectedTicket: attempt.ticketUsed && res.errorClass === 'ticket' ? attempt.ticketUsed : this.rejectedTicket,
      failures,
    };
  }

  private waiting(dep: DependencyHandle, message: string, rejectedRefreshToken: string | null): PendingWrite {
    const state: TaskState = this.st.value === null ? 'pending' : this.st.state;
    return {
      update: { ...this.stateFields(), state, lastError: message, nextRefreshAt: null },
      outcome: { result: 'failed', note: message },
      next: null,
      waitFor: dep,
      rejectedRefreshToken,
      rejectedTicket: this.rejectedTicket,
      failures: this.failures,
    };
  }

  /** Durable first: memory, the front and everyone else learn of it in onStored. */
  private write(w: PendingWrite): void {
    this.phase = 'writing';
    this.ctx.services.store.saveState(this.key, w.update).then(
      () => this.tell({ kind: 'stored', write: w }),
      (err: unknown) =>
        this.tell({ kind: 'store-failed', write: w, error: err instanceof Error ? err : new Error(String(err)) }),
    );
  }

  private retryWrite(): void {
    const w = this.pendingWrite!;
    this.pendingWrite = null;
    const value = w.update.value;
    if (w.fetched?.ok && !isUsable(value, w.update.expiresAt, Date.now())) {
      // Ran out while the store refused it: fetch a fresh one instead.
      this.phase = 'idle';
      this.wantFetch = true;
      return;
    }
    this.write(w);
  }

  private onStored(w: PendingWrite): void {
    const { refreshToken, ...rest } = w.update;
    Object.assign(this.st, rest);
    if (refreshToken !== undefined) this.st.refreshToken = refreshToken;
    this.phase = 'idle';
    this.writeFailures = 0;
    this.failures = w.failures;
    this.rejectedRefreshToken = w.rejectedRefreshToken;
    this.rejectedTicket = w.rejectedTicket;
    this.lastOutcome = w.outcome;
    const services = this.ctx.services;
    if (!this.stopped) services.emit({ kind: 'task', update: this.snapshot() });
    const f = w.fetched;
    if (f?.ok) {
      services.emit({ kind: 'fetch', type: this.reg.type, ok: true, errcode: null });
      const { appid, type, sub } = this.reg;
      services.log.info(
        { appid, type, sub, value: mask(this.st.value), expiresIn: f.expiresIn },
        `${TASK_NAMES[type]} refreshed`,
      );
      if (this.reg.notify && !this.stopped)
        services.callbacks.notify(this.reg.notify, callbackQuery(this.key, this.st.authorizerAppid), f.raw);
    } else if (f) {
      services.emit({ kind: 'fetch', type: this.reg.type, ok: false, errcode: f.errcode });
      services.log.warn(
        {
          ...this.key,
          errcode: f.errcode,
          class: f.errorClass,
          retryInMs: w.next === null ? null : w.next - Date.now(),
          error: f.message,
        },
        'fetch failed',
      );
    }
    this.answerWaiters(w.outcome);
    if (f?.ok) this.wakeDependents();
    if (w.waitFor) {
      services.timers.cancel(this);
      if (!this.stopped) w.waitFor.onNextValue(() => this.tell({ kind: 'dependency', woken: true }));
    } else if (w.next !== null) {
      this.schedule(w.next);
    }
    this.settleIfIdle();
    w.onStored?.();
  }

  private onStoreFailed(w: PendingWrite, error: Error): void {
    if (error instanceof FencedWrite) return this.onFenced(error);
    this.writeFailures++;
    const delay = backoffMs(this.writeFailures, STORE_RETRY_CAP_MS);
    this.ctx.services.log.error(
      { ...this.key, err: this.scrub(error.message), retryInMs: delay },
      'store rejected the task state write; retrying',
    );
    this.lastOutcome = { result: 'failed', note: `the store rejected the write: ${this.scrub(error.message)}` };
    this.answerWaiters({
      result: 'failed',
      note: `the new value could not be stored (${this.scrub(error.message)}); retrying`,
    });
    this.phase = 'write-failed';
    this.pendingWrite = w;
    // Whoever waits for this write hears now; the retries go on without it.
    w.onStored?.();
    w.onStored = undefined;
    this.settleIfIdle();
    this.schedule(Date.now() + delay);
  }

  /**
   * The store refused the write: another instance leased the app's slot
   * since (cluster mode). This actor is done: retrying would be refused
   * again, and this instance stops the slot's actors as soon as it notices.
   */
  private onFenced(error: FencedWrite): void {
    this.ctx.services.emit({ kind: 'fenced' });
    this.ctx.services.log.warn({ ...this.key, err: error.message }, 'write refused: another instance owns the app now');
    this.phase = 'idle';
    this.pendingWrite = null;
    this.tell({ kind: 'release' });
  }

  /** Forced refreshes waiting on the fetch that just ended. */
  private answerWaiters(outcome: RefreshOutcome): void {
    const waiters = this.refreshWaiters;
    if (!waiters) return;
    this.refreshWaiters = null;
    for (const w of waiters) {
      const staleNow = w.stale !== undefined && w.stale === this.st.value;
      // Joined a fetch that was not forced and still sees its stale value: its own, forced, fetch.
      if (w.joined && staleNow && outcome.result === 'fetched' && !this.stopped && !this.released) {
        (this.refreshWaiters ??= []).push({ ...w, joined: false });
        this.wantFetch = true;
        this.wantForce = true;
        continue;
      }
      // Somebody else's value replaced the stale one, and this fetch did not bring a newer one.
      if (w.stale !== undefined && !staleNow && outcome.result === 'failed') {
        w.reply({ result: 'current', note: 'stale is not the current value, which is returned instead' });
        continue;
      }
      w.reply(outcome);
    }
  }

  private settleIfIdle(): void {
    if (this.phase !== 'idle' && this.phase !== 'write-failed') return;
    const waiters = this.idleWaiters;
    if (!waiters) return;
    this.idleWaiters = null;
    for (const w of waiters) w();
  }

  private usesStableToken(): boolean {
    return this.reg.type === TaskType.AccessToken && (this.reg.stable || this.ctx.services.settings.stableToken);
  }

  private usesSecret(): boolean {
    const type = this.reg.type;
    return type === TaskType.AccessToken || type === TaskType.ComponentToken;
  }

  private schedule(at: number): void {
    if (this.stopped || this.released) return;
    this.st.nextRefreshAt = at;
    this.ctx.services.timers.schedule(this, at);
  }

  private bookRefresh(expiresAt: number, expiresIn: number): number {
    const { earliest, latest } = refreshWindow(expiresAt, expiresIn);
    return this.ctx.services.calendar.book(earliest, latest);
  }

  private stateFields(): TaskStateUpdate {
    return stateFieldsOf(this.st);
  }

  /** WeChat's messages never echo a secret, but never trust that. */
  private scrub(message: string): string {
    return scrubSecrets(message, [this.ctx.app().secret]);
  }

  private wakeDependents(): void {
    const waiters = this.valueWaiters;
    if (!waiters) return;
    this.valueWaiters = null;
    for (const w of waiters) w();
  }
}

/**
 * A row's state columns but the refresh token, named one by one: an
 * actor's state is at first the whole stored row, so a rest spread would
 * carry the registration (and its secrets) along.
 */
function stateFieldsOf(st: TaskStateRow): TaskStateUpdate {
  return {
    value: st.value,
    expiresAt: st.expiresAt,
    expiresIn: st.expiresIn,
    refreshedAt: st.refreshedAt,
    fetchedSecretGen: st.fetchedSecretGen,
    authorizerAppid: st.authorizerAppid,
    state: st.state,
    lastError: st.lastError,
    nextRefreshAt: st.nextRefreshAt,
    fetchCount: st.fetchCount,
    failCount: st.failCount,
  };
}

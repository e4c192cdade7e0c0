import { ComponentEvent } from './component-event.js';
import { ValidRegistration } from './registration.js';
import { TaskKey, TaskState, TaskType } from './task-type.js';
import type { MessagePort } from 'node:worker_threads';
import type { ShardOptions } from '../config.js';

/**
 * Every message between the front process and its shard threads.
 * Commands go front → shard through piscina `run()`; events come back on
 * a MessagePort handed over in `init`.
 */

/** The settings a shard thread needs; plain data so it crosses threads. */
export interface ShardSettings extends ShardOptions {
  shardIndex: number;
  shardCount: number;
  /** Whether the front thread is saturated (FrontLoad): one word, written by the front. */
  frontLoad: SharedArrayBuffer;
  /** The generation's SQLite write lock word (WriteLock), shared with the front thread. */
  writeLock: SharedArrayBuffer;
  /** Cluster mode: the instance's lease table (fence and lease validity per slot), written by the front thread. */
  leases?: SharedArrayBuffer;
}

/** Slots a shard thread owns: every slot (one instance, SQLite), or those this instance leased. */
export type OwnedSlots = 'all' | number[];

/** What became of one registration sent to the owner: the tasks it names as the owner now holds them, or why not. */
export type RegisterResult =
  { ok: true; created: boolean; tasks: TaskUpdate[] } | { ok: false; reason: ShardErrorReason; message: string };

export type ShardCommand =
  /** Open the store; load and start the apps of the slots named ('all': every app of this shard). */
  | { kind: 'init'; settings: ShardSettings; events: MessagePort; owns: OwnedSlots }
  /** Become the owner: load every app from the store and start the actors. */
  | { kind: 'activate' }
  /** Give up ownership: stop timers, wait for in-flight fetches, flush. */
  | { kind: 'release' }
  /** Cluster mode: this instance leased these slots; load their apps from the store and start them. */
  | { kind: 'own'; slots: number[] }
  /** Cluster mode: these slots are no longer this instance's; stop their actors and let fetches in flight land. */
  | { kind: 'disown'; slots: number[] }
  /** The app changed in the store (written by another instance): bring its actors in line. */
  | { kind: 'reconcile'; appid: string }
  /**
   * Registrations for the owner to write and apply, answered once durable.
   * Those arriving together go as one message per shard (a message per
   * registration cost the front a tenth of its time).
   */
  | { kind: 'register'; regs: ValidRegistration[]; at: number }
  /** Delete one task (`task`) or the whole app; answered once durable and its actors stopped. */
  | { kind: 'unregister'; appid: string; task?: TaskKey }
  /** Forced refresh (docs/api.md §5); answers with the value then current. */
  | { kind: 'refresh'; key: TaskKey; stale?: string; reqId?: string }
  /** A checked event WeChat pushed to the component `appid` (lib/front/routes/component.ts). */
  | { kind: 'component-event'; appid: string; event: ComponentEvent }
  /** Register a type-4 task for every authorizer of the component `appid` WeChat lists. */
  | { kind: 'component-import'; appid: string }
  /** Reset the app's WeChat API quotas (clear_quota/v2, the component one for a component). */
  | { kind: 'clear-quota'; appid: string }
  /** Test-only fault hook, present only with WECHAT_SCHEDULER_TEST_FAULTS=1. */
  | { kind: 'crash'; oom?: boolean }
  /** This thread's V8 heap, for /metrics. */
  | { kind: 'heap' };

/** What a passive refresh did; the front says so in the X-Scheduler-Refresh header. */
export interface RefreshOutcome {
  /**
   * fetched: a WeChat fetch made for this call (or shared with concurrent
   * callers) succeeded; failed: that fetch failed; current: nothing was
   * fetched (`stale` is not the current value, or within the interval).
   */
  result: 'fetched' | 'failed' | 'current';
  /** A sentence saying why, when there is more to say (e.g. a stable_token force held back). */
  note?: string;
}

/**
 * Why a command was not done, in the owner's words; the front alone turns
 * it into an HTTP status. unavailable: the owner is starting, restarting,
 * handing over or stopping (try again); unknown_app / unknown_task: no
 * such app or task here; disabled: the command is switched off;
 * upstream_failed: WeChat answered wrongly; refused: WeChat said no for
 * good (e.g. a quota used up); failed: it went wrong.
 */
export type ShardErrorReason =
  'unavailable' | 'unknown_app' | 'unknown_task' | 'disabled' | 'upstream_failed' | 'refused' | 'failed';

export type ShardReply =
  | { kind: 'ok' }
  | { kind: 'refreshed'; update: TaskUpdate; outcome: RefreshOutcome }
  | { kind: 'registered'; results: RegisterResult[] }
  | { kind: 'unregistered'; found: boolean }
  | { kind: 'heap'; heap: HeapBytes }
  /** A command's JSON answer (component import, clear-quota). */
  | { kind: 'result'; result: Record<string, unknown> }
  | { kind: 'error'; reason: ShardErrorReason; message: string };

/** One thread's V8 heap: bytes in use by objects, and bytes V8 holds for it. */
export interface HeapBytes {
  used: number;
  total: number;
}

/** A task's public status as the front keeps it; never holds a secret. */
export interface TaskUpdate extends TaskKey {
  value: string | null;
  expiresAt: number | null;
  state: TaskState;
  lastError: string | null;
  refreshedAt: number | null;
  nextRefreshAt: number | null;
  authorizerAppid: string | null;
  fetchCount: number;
  failCount: number;
  /**
   * When the owner took this picture of the task (monoNow() of its
   * thread): a later picture of a task has a larger one. A command's
   * answer and the shard's events travel on different channels, so either
   * may arrive first; the front keeps the later picture by this. Absent
   * in a task read from the store: older than any picture its owner sends.
   */
  seq?: number;
}

export type ShardEvent =
  | { kind: 'task'; update: TaskUpdate }
  | { kind: 'task-removed'; key: TaskKey }
  | { kind: 'fetch'; type: TaskType; ok: boolean; errcode: number | null }
  | { kind: 'notify'; ok: boolean }
  /** A notify given up undelivered: a newer value of its task superseded it, or its origin's backlog was full. */
  | { kind: 'notify-dropped'; reason: 'superseded' | 'backlog' }
  /** A stable_token force_refresh wanted by a passive refresh: made, skipped (budget), or refused by WeChat. */
  | { kind: 'stable-force'; result: 'forced' | 'skipped' | 'refused' }
  /** Cluster mode: the store refused a write of this instance because another one leased the slot since. */
  | { kind: 'fenced' };

import { ShardEvent, ShardSettings } from '../lib/contract/messages.js';
import { TaskType } from '../lib/contract/task-type.js';
import { Logger } from '../lib/log.js';
import { AppRow } from '../lib/store/rows.js';
import { Store } from '../lib/store/store.js';
import { WechatClient } from '../lib/wechat/wechat-client.js';
import { Callbacks } from './callbacks.js';
import { RefreshCalendar } from './refresh-calendar.js';
import { RefreshTimers } from './refresh-timers.js';

/** What a shard lends its actors: I/O, settings and the event channel. */
export interface ShardServices {
  readonly settings: ShardSettings;
  readonly store: Store;
  readonly wechat: WechatClient;
  readonly callbacks: Callbacks;
  readonly log: Logger;
  /** One timer structure for all refreshes of the shard. */
  readonly timers: RefreshTimers;
  /** Refreshes booked per second, to level bursts within each task's jitter window. */
  readonly calendar: RefreshCalendar;
  emit(ev: ShardEvent): void;
  /** Whether a WeChat call for this app may start now (cluster mode: the lease of its slot is confirmed). */
  mayCall(appid: string): boolean;
}

/** What a task actor may ask of its app actor. */
export interface AppContext {
  readonly services: ShardServices;
  app(): AppRow;
  /** The same appid's task this type depends on (type 0 for 1, type 3 for 4), when registered. */
  dependency(type: TaskType): DependencyHandle | undefined;
  keepVerifyTicket(ticket: string, at?: number): Promise<void>;
}

/** The face a dependency shows its dependents. */
export interface DependencyHandle {
  /** The current unexpired value, if any. */
  usableValue(): string | null;
  /** Refresh if the value is still `stale`; resolves when a newer value (or a failure) is known. */
  refreshIfStale(stale: string): Promise<void>;
  /** Call `wake` once the next value arrives. */
  onNextValue(wake: () => void): void;
}

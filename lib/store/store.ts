import { ValidRegistration } from '../contract/registration.js';
import { TaskKey, TaskType } from '../contract/task-type.js';
import { StoredApp, TaskRow, TaskStateUpdate } from './rows.js';

/**
 * The one storage interface, backend-neutral: every call is asynchronous
 * and speaks in apps and tasks, never in SQL, files or keys. The embedded
 * SQLite file is the default backend; another (e.g. Redis with a lease per
 * slot of apps) implements the same and passes the same conformance suite
 * (test/helpers/store-conformance.ts).
 *
 * Writes resolve only once durable, and only the owner of an app writes it.
 * Secrets are decoded inside the backend: callers see plain appsecrets.
 */
export interface Store {
  /**
   * Upsert an app and the tasks named; keeps tasks not named; an inline
   * refresh token or verify ticket is kept. True when it created the app:
   * the store then holds exactly newApp(reg, now).
   */
  register(reg: ValidRegistration, now: number): Promise<boolean>;
  /** Removes the app, its tasks, secrets and values. False when unknown. */
  deleteApp(appid: string): Promise<boolean>;
  /** Removes one task; the app goes too when it was the last one. False when unknown. */
  deleteTask(key: TaskKey): Promise<boolean>;
  /** Owner-only: the task's fetched state. No-op when the task was deleted meanwhile. */
  saveState(key: TaskKey, s: TaskStateUpdate): Promise<void>;
  saveVerifyTicket(appid: string, ticket: string, at: number): Promise<void>;

  getApp(appid: string): Promise<StoredApp | undefined>;
  /** Every app of shard `index` of `count` (shardOf), with its tasks: a shard restoring its apps at once. */
  loadShard(index: number, count: number): Promise<StoredApp[]>;
  /** Every app of the given slots (slotOf), with its tasks: what a new owner of those slots loads. */
  loadSlots(slots: number[]): Promise<StoredApp[]>;
  /**
   * Replace the app exactly as given: secret, generations, kept ticket and
   * every task's registration and state (migrate between stores). An app
   * without tasks is deleted.
   */
  importApp(stored: StoredApp): Promise<void>;
  /** Every task row, for warming the front's cache at start. */
  allTasks(): Promise<TaskRow[]>;
  hasTask(appid: string, type: TaskType): Promise<boolean>;
  /** Whether a type 2 task of this openid keeps a refresh token (a registration may then leave params out). */
  keptRefreshToken(appid: string, sub: string): Promise<boolean>;
  close(): Promise<void> | void;
}

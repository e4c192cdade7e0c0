import { ValidRegistration } from '../contract/registration.js';
import { TaskKey, TaskType } from '../contract/task-type.js';
import { StoredApp, TaskRow, TaskStateUpdate } from './rows.js';

/**
 * The one storage interface. The embedded SQLite file is the default
 * backend; another (e.g. Redis with a lease per app) implements the same.
 * Writes resolve only once durable; concurrent writes are group-committed.
 */
export interface Store {
  /**
   * Upsert an app and the tasks named; keeps tasks not named. True when it
   * created the app: the store then holds exactly newApp(reg, now).
   */
  register(reg: ValidRegistration, now: number): Promise<boolean>;
  /** Removes the app, its tasks, secrets and values. False when unknown. */
  deleteApp(appid: string): Promise<boolean>;
  /** Removes one task; the app row goes too when it was the last one. */
  deleteTask(key: TaskKey): Promise<boolean>;
  /** Owner-only: the task's fetched state. No-op when the task was deleted meanwhile. */
  saveState(key: TaskKey, s: TaskStateUpdate): Promise<void>;
  saveVerifyTicket(appid: string, ticket: string, at: number): Promise<void>;

  getApp(appid: string): StoredApp | undefined;
  appids(): string[];
  /** Every app whose appid `accept` takes, with its tasks (a shard restoring its apps at once). */
  loadApps(accept: (appid: string) => boolean): StoredApp[];
  /** Every task row, for warming the front's cache at start. */
  allTasks(): TaskRow[];
  hasTask(appid: string, type: TaskType): boolean;
  keptRefreshToken(appid: string, sub: string): boolean;
  close(): void;
}

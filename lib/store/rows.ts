import { ParamsSource, PushSettings } from '../contract/params.js';
import { TaskKey, TaskState, TaskType } from '../contract/task-type.js';

export type { TaskState };

/** One registered app as stored. `secretGen` grows each time the appsecret changes. */
export interface AppRow {
  appid: string;
  secret: string;
  secretGen: number;
  /** Last component_verify_ticket received, kept for its 12 hours. */
  verifyTicket: string | null;
  verifyTicketAt: number | null;
}

/** What a registration says about a task; written by the front. */
export interface TaskRegistration extends TaskKey {
  notify: string | null;
  params: ParamsSource;
  stable: boolean;
  /** Type 3: settings for WeChat's pushes, or null. */
  push: PushSettings | null;
  /** Grows with every registration naming this task: "a new registration retries at once". */
  regGen: number;
}

/** What the task's owner learned from WeChat; written by the owning shard only. */
export interface TaskStateRow {
  value: string | null;
  /** Epoch ms. */
  expiresAt: number | null;
  /** Seconds, as WeChat said. */
  expiresIn: number | null;
  refreshedAt: number | null;
  /** The app's secretGen the value was fetched with (types 0 and 3). */
  fetchedSecretGen: number;
  /** Newest refresh token WeChat returned (types 2 and 4), or an inline one. */
  refreshToken: string | null;
  /** For type 4: the authorizer appid actually used (may come from params). */
  authorizerAppid: string | null;
  state: TaskState;
  lastError: string | null;
  nextRefreshAt: number | null;
  fetchCount: number;
  failCount: number;
}

export type TaskRow = TaskRegistration & TaskStateRow;

export interface StoredApp {
  app: AppRow;
  tasks: TaskRow[];
}

/** A state write; `refreshToken` undefined leaves the kept one as it is. */
export type TaskStateUpdate = Omit<TaskStateRow, 'refreshToken'> & { refreshToken?: string | null };

export { TaskType };

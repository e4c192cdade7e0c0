// The six credentials, by their wire numbers.
export const TaskType = {
  AccessToken: 0,
  JsapiTicket: 1,
  OAuthToken: 2,
  ComponentToken: 3,
  AuthorizerToken: 4,
  CardTicket: 5,
} as const;
export type TaskType = (typeof TaskType)[keyof typeof TaskType];

export const TASK_NAMES: Record<TaskType, string> = {
  0: 'access_token',
  1: 'jsapi_ticket',
  2: 'oauth2_access_token',
  3: 'component_access_token',
  4: 'authorizer_access_token',
  5: 'wx_card_ticket',
};

/** The highest type number. */
export const MAX_TASK_TYPE = 5;

export function isTaskType(n: unknown): n is TaskType {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_TASK_TYPE;
}

/** Which task of the same appid a type depends on, if registered. */
export function dependencyOf(type: TaskType): TaskType | undefined {
  if (type === TaskType.JsapiTicket || type === TaskType.CardTicket) return TaskType.AccessToken;
  if (type === TaskType.AuthorizerToken) return TaskType.ComponentToken;
  return undefined;
}

/**
 * Tasks are keyed by appid, type and a "sub" key: the authorizer_appid for
 * type 4 and the openid for type 2 (one user's OAuth token); "" otherwise.
 */
export interface TaskKey {
  appid: string;
  type: TaskType;
  sub: string;
}

/** Where a task's state machine is: no value yet, a value, or failing (with or without a value). */
export type TaskState = 'pending' | 'ready' | 'failing';

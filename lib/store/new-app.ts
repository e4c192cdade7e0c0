import { ParamsSource } from '../contract/params.js';
import { ValidRegistration, ValidTask } from '../contract/registration.js';
import { TaskType } from '../contract/task-type.js';
import { StoredApp, TaskRow } from './rows.js';

/** Most tasks have no params: one shared (frozen, as it is shared) object instead of one per row. */
export const NO_PARAMS: ParamsSource = Object.freeze({ kind: 'none' });

export function sharedParams(params: ParamsSource): ParamsSource {
  return params.kind === 'none' ? NO_PARAMS : params;
}

/** Inline refresh tokens a registration carries (docs/api.md §3, §5). */
export function inlineRefreshToken(type: TaskType, params: ParamsSource): string | null {
  if (params.kind !== 'inline') return null;
  if (type === TaskType.OAuthToken) return params.values.refresh_token ?? null;
  if (type === TaskType.AuthorizerToken) return params.values.authorizer_refresh_token ?? null;
  return null;
}

/** The component_verify_ticket an inline re-registration pushes (docs/api.md §6), or null. */
export function inlineTicket(t: ValidTask): string | null {
  if (t.type !== TaskType.ComponentToken || t.params.kind !== 'inline') return null;
  return t.params.values.component_verify_ticket || null;
}

/**
 * The task row a registration inserts: its settings, and the state every
 * new task starts from (the schema's defaults). `appid` is shared, as rows
 * read from the store share their app's.
 */
export function newTaskRow(appid: string, t: ValidTask): TaskRow {
  return {
    appid,
    type: t.type,
    sub: t.sub,
    notify: t.notify,
    params: sharedParams(t.params),
    stable: t.stable,
    push: t.push,
    regGen: 1,
    value: null,
    expiresAt: null,
    expiresIn: null,
    refreshedAt: null,
    fetchedSecretGen: 0,
    refreshToken: inlineRefreshToken(t.type, t.params),
    authorizerAppid: null,
    state: 'pending',
    lastError: null,
    nextRefreshAt: null,
    fetchCount: 0,
    failCount: 0,
  };
}

/**
 * The app exactly as the store holds it right after the registration that
 * created it (no row of the appid was stored before), as getApp() would
 * read it back: the owner takes it from here instead of reading the store
 * (test/store.test.ts holds the two equal).
 */
export function newApp(reg: ValidRegistration, now: number): StoredApp {
  let verifyTicket: string | null = null;
  for (const t of reg.tasks) verifyTicket = inlineTicket(t) ?? verifyTicket;
  // In getApp's order (type, sub); subs are ASCII, so code units compare as SQLite's bytes do.
  const tasks = reg.tasks
    .map((t) => newTaskRow(reg.appid, t))
    .sort((a, b) => a.type - b.type || (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0));
  return {
    app: {
      appid: reg.appid,
      secret: reg.appsecret,
      secretGen: 1,
      verifyTicket,
      verifyTicketAt: verifyTicket === null ? null : now,
    },
    tasks,
  };
}

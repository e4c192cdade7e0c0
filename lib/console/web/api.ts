// The JSON API as the page uses it: one call function that turns every
// outcome (answer, refusal, server gone) into a value the page can show.

export type TaskState = 'pending' | 'ready' | 'failing';
export const STATES: readonly TaskState[] = ['pending', 'ready', 'failing'];

export interface TaskStatus {
  type: number;
  name: string;
  authorizer_appid: string | null;
  openid: string | null;
  state: TaskState;
  expires_at: string | null;
  refreshed_at: string | null;
  next_refresh_at: string | null;
  last_error: string | null;
  fetch_count: number;
  fail_count: number;
  owner?: string;
}

export interface AppStatus {
  appid: string;
  tasks: TaskStatus[];
  owner?: string;
}

export interface AppsPage {
  total: number;
  next: string | null;
  apps: AppStatus[];
}

export interface Totals {
  apps: number;
  tasks: Record<TaskState, number>;
  fetch_count: number;
  fail_count: number;
}

export interface Session {
  protected_mode: boolean;
  read_only: boolean;
  scoped: boolean;
  totals: Totals;
}

/** Why a call did not succeed: `gone` = no answer at all. */
export type Failure =
  { kind: 'gone' } | { kind: 'refused'; status: number; message: string } | { kind: 'garbled'; status: number };
export type Outcome<T> = { ok: true; result: T } | { ok: false; failure: Failure };

/** Server time minus this browser's, from the last answer's Date header (countdowns use server time). */
let skewMs = 0;
export const serverNow = (): number => Date.now() + skewMs;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * One API call, relative to the page (so a proxy prefix works), with the
 * token when there is one. `check` tells whether the result has the
 * expected shape; anything else is reported, never guessed at.
 */
export async function call<T>(
  method: string,
  path: string,
  token: string | null,
  check: (r: unknown) => r is T,
  body?: unknown,
): Promise<Outcome<T>> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    return { ok: false, failure: { kind: 'gone' } };
  }
  const date = Date.parse(res.headers.get('date') ?? '');
  if (!Number.isNaN(date)) skewMs = date + 500 - Date.now();
  let parsed: unknown;
  try {
    parsed = await res.json();
  } catch {
    return {
      ok: false,
      failure: res.status >= 502 && res.status <= 504 ? { kind: 'gone' } : { kind: 'garbled', status: res.status },
    };
  }
  if (!isRecord(parsed) || typeof parsed.message !== 'string')
    return { ok: false, failure: { kind: 'garbled', status: res.status } };
  if (res.status !== 200)
    return { ok: false, failure: { kind: 'refused', status: res.status, message: parsed.message } };
  if (!check(parsed.result)) return { ok: false, failure: { kind: 'garbled', status: res.status } };
  return { ok: true, result: parsed.result };
}

export const anything = (_r: unknown): _r is unknown => true;

export function isSession(r: unknown): r is Session {
  return isRecord(r) && typeof r.protected_mode === 'boolean' && typeof r.read_only === 'boolean' && isRecord(r.totals);
}

function isTask(t: unknown): t is TaskStatus {
  return isRecord(t) && typeof t.type === 'number' && typeof t.state === 'string' && typeof t.name === 'string';
}

export function isAppsPage(r: unknown): r is AppsPage {
  return (
    isRecord(r) &&
    typeof r.total === 'number' &&
    Array.isArray(r.apps) &&
    r.apps.every((a) => isRecord(a) && typeof a.appid === 'string' && Array.isArray(a.tasks) && a.tasks.every(isTask))
  );
}

/** The query a task's routes need to name it among its app's tasks of that type. */
export function taskQuery(t: TaskStatus): string {
  if (t.type === 4 && t.authorizer_appid) return `?authorizer_appid=${encodeURIComponent(t.authorizer_appid)}`;
  if (t.type === 2 && t.openid) return `?openid=${encodeURIComponent(t.openid)}`;
  return '';
}

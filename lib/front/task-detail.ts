import { badRequest } from '../contract/errors.js';
import { okBody } from './envelope.js';
import { CachedTask } from './task-cache.js';

/** The `result` of GET /task?detail=1: the value and its lifetime, so a client can cache it. */
export interface TaskDetail {
  value: string;
  expires_at: string;
  /** When it was fetched; null only for a value kept from before this was recorded. */
  refreshed_at: string | null;
}

/**
 * What `?detail=` asks for: true for the detail object, false for the plain
 * value, null when the parameter is neither (the caller answers 400).
 */
export function detailWanted(raw: string | string[] | undefined): boolean | null {
  if (raw === undefined || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  return null;
}

export const badDetail = () =>
  badRequest(
    'bad_query',
    'detail must be 1 (or true) for {value, expires_at, refreshed_at}, or left out for the value alone.',
  );

/** The 200 answer with the detail object, for a task that is servable (its value unexpired). */
export function detailBody(task: CachedTask): Buffer {
  const detail: TaskDetail = {
    value: task.value ?? '',
    expires_at: new Date(task.expiresAt ?? 0).toISOString(),
    refreshed_at: task.refreshedAt === null ? null : new Date(task.refreshedAt).toISOString(),
  };
  return okBody(detail);
}

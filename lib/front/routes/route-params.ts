import { badRequest, notFound } from '../../contract/errors.js';
import { isValidAppid } from '../../contract/registration.js';
import { TaskType } from '../../contract/task-type.js';
import { FrontContext } from '../context.js';
import { Selector } from '../task-cache.js';

/** Path and query parameters of the task routes, checked once here. */
export function pathAppid(raw: string | undefined): string {
  // Never echo a malformed appid (NUL bytes, 5000 characters, …) back to the client.
  if (raw === undefined || !isValidAppid(raw))
    throw notFound(
      'unknown_app',
      'No app is registered under that appid: an appid is 1-64 characters of A-Z, a-z, 0-9, _ or -.',
    );
  return raw;
}

export function pathType(raw: string | undefined): TaskType {
  if (raw === undefined || !/^[0-5]$/.test(raw))
    throw badRequest('bad_type', 'The task type must be an integer from 0 to 5.');
  return Number(raw) as TaskType;
}

export function selector(ctx: FrontContext): Selector {
  const pick = (name: string): string | undefined => {
    const v = ctx.query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length > 128)
      throw badRequest('bad_query', `${name} must be given once, at most 128 characters.`);
    return v;
  };
  return { authorizer_appid: pick('authorizer_appid'), openid: pick('openid') };
}

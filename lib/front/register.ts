import type { ApiTokenRule } from '../config.js';
import { checkRequiredInputs, validateRegistration } from '../contract/registration.js';
import { TaskType } from '../contract/task-type.js';
import { checkScope } from './auth.js';
import { RequestNote } from './context.js';
import { ownerError } from './owner-error.js';
import { FrontServices } from './services.js';

/**
 * POST /registe of a parsed JSON body: validate, check the token's scope,
 * make it durable, then tell the owner. Shared by the Koa route and the
 * fast path in front of Koa, so both answer alike. Throws ApiError for
 * anything the client got wrong; resolves with what the request's log line says.
 */
export async function register(s: FrontServices, body: unknown, token: ApiTokenRule | undefined, reqId: string | undefined): Promise<RequestNote> {
  const reg = validateRegistration(body, { callbackHosts: s.config.callbackHosts });
  checkScope(token, reg.appid, true);
  checkRequiredInputs(reg, {
    hasAccessTokenTask: (appid) => s.store.hasTask(appid, TaskType.AccessToken),
    keptRefreshToken: (appid, sub) => s.store.keptRefreshToken(appid, sub),
  });
  // The owner writes it and applies it to its actors; answered once durable.
  const result = await s.owner.register(reg);
  if (!result.ok) {
    s.log.warn({ reqId, appid: reg.appid, reason: result.reason, err: result.message }, 'registration not taken by the owner');
    throw ownerError({ kind: 'error', reason: result.reason, message: result.message }, 'not_registered');
  }
  s.cache.registered(result.tasks);
  // One log line per registration: the request's line says what was registered.
  return { msg: 'registered', fields: { appid: reg.appid, tasks: reg.tasks.map((t) => (t.sub ? `${t.type}/${t.sub}` : String(t.type))) } };
}

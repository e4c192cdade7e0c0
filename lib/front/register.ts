import type { ApiTokenRule } from '../config.js';
import { checkRequiredInputs, validateRegistration } from '../contract/registration.js';
import { TaskType } from '../contract/task-type.js';
import { checkScope } from './auth.js';
import { RequestNote } from './context.js';
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
  const now = Date.now();
  const created = await s.store.register(reg, now);
  s.cache.registered(reg);
  // Durable already, so the answer does not wait for the owner: it hears of it in this
  // turn of the event loop (batched per shard); one that is restarting reads the store.
  // A new app goes with its registration, which is all the store holds of it (newApp).
  if (!s.owner.reload(reg.appid, created ? { created: reg, at: now } : undefined)) {
    s.log.warn({ reqId, appid: reg.appid }, 'owner not reached; it will load the registration from the store');
  }
  // One log line per registration: the request's line says what was registered.
  return { msg: 'registered', fields: { appid: reg.appid, tasks: reg.tasks.map((t) => (t.sub ? `${t.type}/${t.sub}` : String(t.type))) } };
}

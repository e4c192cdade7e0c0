import type { ApiTokenRule } from '../config.js';
import {
  checkRequiredInputs,
  RegistrationFacts,
  validateRegistration,
  ValidRegistration,
} from '../contract/registration.js';
import { Store } from '../store/store.js';
import { TaskType } from '../contract/task-type.js';
import { checkScope } from './auth.js';
import { RequestNote } from './context.js';
import { ownerError } from './owner-error.js';
import { FrontServices } from './front-services.js';

/**
 * POST /registe of a parsed JSON body: validate, check the token's scope,
 * make it durable, then tell the owner. Shared by the Koa route and the
 * fast path in front of Koa, so both answer alike. Throws ApiError for
 * anything the client got wrong; resolves with what the request's log line says.
 */
/** What the "required inputs" rules need to know of earlier registrations, asked only when they need it. */
async function registrationFacts(store: Store, reg: ValidRegistration): Promise<RegistrationFacts> {
  const needsType0 =
    reg.tasks.some((t) => t.type === TaskType.JsapiTicket && t.params.kind === 'none') &&
    !reg.tasks.some((t) => t.type === TaskType.AccessToken);
  const hasType0 = needsType0 && (await store.hasTask(reg.appid, TaskType.AccessToken));
  const kept = new Set<string>();
  for (const t of reg.tasks) {
    if (t.type === TaskType.OAuthToken && t.params.kind === 'none' && (await store.keptRefreshToken(reg.appid, t.sub)))
      kept.add(t.sub);
  }
  return { hasAccessTokenTask: () => hasType0, keptRefreshToken: (_appid, sub) => kept.has(sub) };
}

export async function register(
  s: FrontServices,
  body: unknown,
  token: ApiTokenRule | undefined,
  reqId: string | undefined,
): Promise<RequestNote> {
  const reg = validateRegistration(body, { callbackHosts: s.config.callbackHosts });
  checkScope(token, reg.appid, true);
  checkRequiredInputs(reg, await registrationFacts(s.store, reg));
  // The owner writes it and applies it to its actors; answered once durable.
  const result = await s.owner.register(reg);
  if (!result.ok) {
    s.log.warn(
      { reqId, appid: reg.appid, reason: result.reason, err: result.message },
      'registration not taken by the owner',
    );
    throw ownerError({ kind: 'error', reason: result.reason, message: result.message }, 'not_registered');
  }
  s.cache.registered(result.tasks);
  // One log line per registration: the request's line says what was registered.
  return {
    msg: 'registered',
    fields: { appid: reg.appid, tasks: reg.tasks.map((t) => (t.sub ? `${t.type}/${t.sub}` : String(t.type))) },
  };
}

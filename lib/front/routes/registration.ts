import Router from '@koa/router';
import { ApiError } from '../../contract/errors.js';
import { checkRequiredInputs, validateRegistration } from '../../contract/registration.js';
import { TaskType } from '../../contract/task-type.js';
import { checkScope } from '../auth.js';
import { FrontContext, FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../services.js';

/** POST /registe (and /register): durable first, then the owner hears of it. */
export function registrationRoutes(router: Router<FrontState>, s: FrontServices): void {
  const handler = async (ctx: FrontContext) => {
    if (!ctx.is('application/json')) throw new ApiError(415, 'not_json', 'The request body must be JSON (Content-Type: application/json).');
    const reg = validateRegistration(ctx.request.body, { callbackHosts: s.config.callbackHosts });
    checkScope(ctx.state.token, reg.appid, true);
    checkRequiredInputs(reg, {
      hasAccessTokenTask: (appid) => s.store.hasTask(appid, TaskType.AccessToken),
      keptRefreshToken: (appid, sub) => s.store.keptRefreshToken(appid, sub),
    });
    await s.store.register(reg, Date.now());
    s.cache.registered(reg);
    s.log.info({ appid: reg.appid, tasks: reg.tasks.map((t) => (t.sub ? `${t.type}/${t.sub}` : String(t.type))) }, 'registered');
    // Durable already; an owner that is restarting picks it up from the store.
    await s.owner.send(reg.appid, { kind: 'reload', appid: reg.appid }).catch((err: Error) => {
      s.log.warn({ appid: reg.appid, err: err.message }, 'owner not reached; it will load the registration from the store');
    });
    ctx.body = envelope(200, '', 'success');
  };
  router.post('/registe', handler);
  router.post('/register', handler);
}

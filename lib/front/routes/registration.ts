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
    // One log line per registration: observe's request line says what was registered.
    ctx.state.log = { msg: 'registered', fields: { appid: reg.appid, tasks: reg.tasks.map((t) => (t.sub ? `${t.type}/${t.sub}` : String(t.type))) } };
    // Durable already, so the answer does not wait for the owner: it hears of it in this
    // turn of the event loop (batched per shard); one that is restarting reads the store.
    if (!s.owner.reload(reg.appid)) {
      s.log.warn({ reqId: ctx.state.reqId, appid: reg.appid }, 'owner not reached; it will load the registration from the store');
    }
    ctx.body = envelope(200, '', 'success');
  };
  router.post('/registe', handler);
  router.post('/register', handler);
}

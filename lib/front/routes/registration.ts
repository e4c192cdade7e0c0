import Router from '@koa/router';
import { ApiError } from '../../contract/errors.js';
import { FrontContext, FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { register } from '../register.js';
import { FrontServices } from '../front-services.js';

/**
 * POST /registe (and /register): durable first, then the owner hears of it.
 * A plain request never gets here: listeners/post-registe.ts answers it
 * before Koa with the same register().
 */
export function registrationRoutes(router: Router<FrontState>, s: FrontServices): void {
  const handler = async (ctx: FrontContext) => {
    if (!ctx.is('application/json'))
      throw new ApiError(415, 'not_json', 'The request body must be JSON (Content-Type: application/json).');
    ctx.state.log = await register(s, ctx.request.body, ctx.state.token, ctx.state.reqId);
    ctx.body = envelope(200, '', 'success');
  };
  router.post('/registe', handler);
  router.post('/register', handler);
}

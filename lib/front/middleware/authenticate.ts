import type { Next } from 'koa';
import { Authenticator } from '../auth.js';
import { FrontContext } from '../context.js';

/** Every route but /healthz needs a valid token (or a loopback client in protected mode). */
export function authenticate(auth: Authenticator) {
  return async (ctx: FrontContext, next: Next) => {
    if (ctx.path === '/healthz') return next();
    const outcome = auth.check(ctx.get('authorization') || undefined, ctx.req.socket.remoteAddress);
    if (!outcome.ok) throw outcome.error;
    ctx.state.token = outcome.rule;
    return next();
  };
}

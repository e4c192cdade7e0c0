import type { Next } from 'koa';
import { Authenticator, checkMethod, checkUnscoped } from '../auth.js';
import { protectedModeRefusal } from '../browser-guard.js';
import { FrontContext } from '../context.js';
import { EVENTS_PATH } from '../routes/component.js';

/** Routes anyone may read: they hold nothing but the build and the API's description. */
const OPEN_PATHS = new Set(['/healthz', '/openapi.json']);

/**
 * Every route but /healthz, /openapi.json and WeChat's event pushes needs a valid token (or a loopback client in
 * protected mode, whose request names a loopback Host and no other site's
 * Origin: see browser-guard.ts). What a token may do is checked as early as it can be:
 * a read-only token is refused any write here, before its body is read;
 * appid scopes are checked by the routes, which know the appid.
 */
export function authenticate(auth: Authenticator) {
  return async (ctx: FrontContext, next: Next) => {
    // WeChat's pushes carry no API token (nor come from loopback): their msg_signature is checked by the route.
    const open = OPEN_PATHS.has(ctx.path) || (ctx.method === 'POST' && EVENTS_PATH.test(ctx.path));
    if (!open) {
      const outcome = auth.check(
        ctx.get('authorization') || undefined,
        ctx.req.socket.remoteAddress,
        ctx.get('x-forwarded-for') || undefined,
      );
      if (!outcome.ok) throw outcome.error;
      ctx.state.token = outcome.rule;
      checkMethod(outcome.rule, ctx.method);
      if (ctx.path.replace(/\/+$/, '') === '/metrics') checkUnscoped(outcome.rule, '/metrics');
    }
    if (auth.protectedMode) {
      const refused = protectedModeRefusal(open, ctx.get('host') || undefined, ctx.get('origin') || undefined);
      if (refused) throw refused;
    }
    return next();
  };
}

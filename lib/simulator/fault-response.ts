// Plays one fault rule on a request: delay it, then fail it with an errcode
// or HTTP status, or hang. A delay-only rule lets the request go on normally.
import type { Context } from 'koa';
import { messageFor } from './errors.js';
import type { FaultRule } from './faults.js';
import { wait } from './wait.js';

/** Returns true when the fault answered (or abandoned) the request. */
export async function playFault(ctx: Context, rule: FaultRule, signal: AbortSignal): Promise<boolean> {
  const delay = rule.hang ? Infinity : (rule.delayMs ?? 0);
  if (delay > 0 && !(await wait(delay, signal, ctx.res))) {
    // Closing or the client left: nobody is there to answer.
    ctx.respond = false;
    return true;
  }
  const errcode = rule.errcode;
  const errBody = errcode === undefined ? undefined : { errcode, errmsg: rule.errmsg ?? messageFor(errcode) };
  if (rule.status !== undefined) {
    ctx.status = rule.status;
    ctx.body = errBody ?? `simulated HTTP ${rule.status}`;
    return true;
  }
  if (errBody) {
    ctx.body = errBody;
    return true;
  }
  return false;
}

import type { Next } from 'koa';
import { FrontContext } from '../context.js';
import { Drainer } from '../drain.js';

/** While this generation drains, every answer tells keep-alive clients to reconnect (to the next one). */
export function connectionClose(drainer: () => Drainer | undefined) {
  return async (ctx: FrontContext, next: Next) => {
    await next();
    if (drainer()?.active) ctx.set('Connection', 'close');
  };
}

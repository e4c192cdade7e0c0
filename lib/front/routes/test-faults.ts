import Router from '@koa/router';
import { ownerError } from '../owner-error.js';
import { checkScope } from '../auth.js';
import { FrontState } from '../context.js';
import { envelope } from '../envelope.js';
import { FrontServices } from '../front-services.js';
import { pathAppid } from './route-params.js';

/** Fault hooks exist only when this is set (tests of supervision); never in production. */
export const testFaultsEnabled = (): boolean => process.env.WECHAT_SCHEDULER_TEST_FAULTS === '1';

/**
 * POST /__test/crash-shard/:appid[?how=oom]: the shard thread owning the app
 * throws an uncaught error (or allocates until it runs out of the heap its
 * resourceLimits allow), so that tests can watch it being restored from the store.
 * Mounted only when WECHAT_SCHEDULER_TEST_FAULTS=1; the shard checks it too.
 */
export function testFaultRoutes(router: Router<FrontState>, s: FrontServices): void {
  router.post('/__test/crash-shard/:appid', async (ctx) => {
    const appid = pathAppid(ctx.params.appid);
    checkScope(ctx.state.token, appid, true);
    const oom = ctx.query.how === 'oom';
    const reply = await s.owner.send(appid, { kind: 'crash', oom });
    if (reply.kind === 'error') throw ownerError(reply, 'fault_failed');
    s.log.warn({ appid, oom }, 'test fault: shard crash requested');
    ctx.body = envelope(200, '', 'crashing');
  });
}

// Serves the simulated WeChat endpoints: count the call, play any matching
// fault, then answer like WeChat (errors are HTTP 200 with an errcode, and
// errmsgs end with " rid: …"). A call with the wrong method gets 43001/43002.
import Router from '@koa/router';
import type { Context } from 'koa';
import { readJsonBody } from './body.js';
import type { Endpoint, EndpointRequest } from './endpoint.js';
import { ENDPOINTS } from './endpoints/index.js';
import { ERR, fail, withRid, type WeChatBody } from './errors.js';
import { playFault } from './fault-response.js';
import type { SimulatorState } from './state.js';

export function wechatRoutes(sim: SimulatorState, closing: AbortSignal): Router {
  const router = new Router();
  for (const endpoint of ENDPOINTS) {
    const serve = (ctx: Context) => answer(ctx, endpoint, sim, closing);
    // WeChat answers the other method with "require GET method" / "require POST method".
    const wrongMethod = (ctx: Context) => {
      ctx.body = wechatBody(sim, fail(endpoint.method === 'GET' ? ERR.requireGet : ERR.requirePost));
    };
    if (endpoint.method === 'GET') router.get(endpoint.path, serve).post(endpoint.path, wrongMethod);
    else router.post(endpoint.path, serve).get(endpoint.path, wrongMethod);
  }
  return router;
}

/** An answer as WeChat words it: errmsgs end with a request id unless `rid` is off. */
export function wechatBody(sim: SimulatorState, body: WeChatBody): WeChatBody {
  return sim.config.rid ? withRid(body, () => sim.rid()) : body;
}

async function answer(ctx: Context, endpoint: Endpoint, sim: SimulatorState, closing: AbortSignal): Promise<void> {
  const req = await readRequest(ctx, endpoint);
  if (!req) {
    sim.stats.count(endpoint.name, []);
    ctx.body = wechatBody(sim, fail(ERR.dataFormat));
    return;
  }
  const appids = endpoint.appids(req, sim);
  sim.stats.count(endpoint.name, appids);
  const fault = sim.faults.take(endpoint.name, appids);
  if (fault && (await playFault(ctx, fault, closing))) return;
  ctx.body = wechatBody(sim, endpoint.handle(req, sim));
}

/** Query and body of a call; null when a POST body is not a JSON object. */
async function readRequest(ctx: Context, endpoint: Endpoint): Promise<EndpointRequest | null> {
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) query[key] = first;
  }
  if (endpoint.method === 'GET') return { query, body: {} };
  const parsed = await readJsonBody(ctx.req);
  if (!parsed.ok) return null;
  const value = parsed.value ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return { query, body: value as Record<string, unknown> };
}

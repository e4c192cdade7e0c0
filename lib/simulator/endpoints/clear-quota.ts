// POST /cgi-bin/clear_quota/v2 and /cgi-bin/component/clear_quota/v2: reset
// an account's (or a platform's) API call quotas with its AppSecret, at most
// clearQuotaMonthlyLimit times a calendar month (WeChat: 10), then 48006.
import { ERR, fail } from '../errors.js';
import { field, type Endpoint, type EndpointRequest } from '../endpoint.js';
import type { SimulatorState } from '../state.js';

function clear(appid: string, secret: string, sim: SimulatorState) {
  const err = sim.apps.authenticate(appid, secret, sim.config.open);
  if (err) return fail(err);
  if (!sim.quotaResets.take(appid, sim.now(), sim.config.clearQuotaMonthlyLimit)) return fail(ERR.clearQuotaLimit);
  return { errcode: 0, errmsg: 'ok' };
}

export const clearQuotaEndpoint: Endpoint = {
  name: 'clear_quota',
  method: 'POST',
  path: '/cgi-bin/clear_quota/v2',
  appids: (req) => [field(req.body, 'appid')],
  handle: (req: EndpointRequest, sim) => clear(field(req.body, 'appid'), field(req.body, 'appsecret'), sim),
};

export const componentClearQuotaEndpoint: Endpoint = {
  name: 'clear_quota',
  method: 'POST',
  path: '/cgi-bin/component/clear_quota/v2',
  appids: (req) => [field(req.body, 'component_appid')],
  handle(req, sim) {
    const component = field(req.body, 'component_appid');
    const appid = field(req.body, 'appid');
    if (component === '' || (appid !== '' && appid !== component)) return fail(ERR.invalidArgs);
    return clear(component, field(req.body, 'appsecret'), sim);
  },
};

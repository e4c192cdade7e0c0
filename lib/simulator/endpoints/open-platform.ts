// The third-party platform calls besides the two token calls:
// api_query_auth (an authorization code → the authorizer's first token),
// api_get_authorizer_list (every authorizer with its refresh token, 500 a
// page at most) and api_start_push_ticket (push a verify ticket now).
import { ERR, fail } from '../errors.js';
import { field, type Endpoint } from '../endpoint.js';
import { secondsLeft, type SimulatorState } from '../state.js';
import { isWeChatError, requireToken } from './credential.js';

/** The component_appid whose component_access_token pays for the call, checked like WeChat does. */
function componentCall(req: { query: Record<string, string>; body: Record<string, unknown> }, sim: SimulatorState) {
  const component = field(req.body, 'component_appid');
  if (component === '') return ERR.appidMissing;
  const token = requireToken(sim, field(req.query, 'component_access_token'), ['component_access_token'], component);
  return isWeChatError(token) ? token : null;
}

export const queryAuthEndpoint: Endpoint = {
  name: 'query_auth',
  method: 'POST',
  path: '/cgi-bin/component/api_query_auth',
  appids: (req) => [field(req.body, 'component_appid')],
  handle(req, sim) {
    const err = componentCall(req, sim);
    if (err) return fail(err);
    const component = field(req.body, 'component_appid');
    const auth = sim.authorizers.redeem(field(req.body, 'authorization_code'), component, sim.now());
    if (auth === 'invalid') return fail(ERR.authCodeInvalid);
    if (auth === 'expired') return fail(ERR.authCodeExpired);
    const token = sim.issue('authorizer_access_token', auth.authorizerAppid, auth.authorizerAppid);
    return {
      authorization_info: {
        authorizer_appid: auth.authorizerAppid,
        authorizer_access_token: token.value,
        expires_in: secondsLeft(token, token.issuedAt),
        authorizer_refresh_token: auth.refreshToken,
        func_info: [{ funcscope_category: { id: 1 } }],
      },
    };
  },
};

export const authorizerListEndpoint: Endpoint = {
  name: 'authorizer_list',
  method: 'POST',
  path: '/cgi-bin/component/api_get_authorizer_list',
  appids: (req) => [field(req.body, 'component_appid')],
  handle(req, sim) {
    const err = componentCall(req, sim);
    if (err) return fail(err);
    const offset = Number(req.body.offset ?? 0);
    const count = Number(req.body.count ?? 500);
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(count) || count < 1 || count > 500)
      return fail(ERR.invalidArgs);
    const { total, page } = sim.authorizers.list(field(req.body, 'component_appid'), offset, count);
    return {
      total_count: total,
      list: page.map((a) => ({
        authorizer_appid: a.authorizerAppid,
        refresh_token: a.refreshToken,
        auth_time: a.authTime,
      })),
    };
  },
};

export const startPushTicketEndpoint: Endpoint = {
  name: 'start_push_ticket',
  method: 'POST',
  path: '/cgi-bin/component/api_start_push_ticket',
  appids: (req) => [field(req.body, 'component_appid')],
  handle(req, sim) {
    const component = field(req.body, 'component_appid');
    const err = sim.apps.authenticate(component, field(req.body, 'component_secret'), sim.config.open);
    if (err) return fail(err);
    // WeChat answers at once and pushes the ticket to the platform's event URL shortly after.
    if (sim.pushTargets.get(component)) setImmediate(() => void sim.pushVerifyTicket(component).catch(() => undefined));
    return { errcode: 0, errmsg: 'ok' };
  },
};

// POST /cgi-bin/component/api_authorizer_token: an authorizer's access_token
// (task type 4), paid for with the component's current access token and the
// authorizer's refresh token, which WeChat keeps the same until the account
// authorizes again (rotateAuthorizerRefreshTokens rotates it on every use).
import { ERR, fail } from '../errors.js';
import { field, type Endpoint } from '../endpoint.js';
import { secondsLeft } from '../state.js';
import { isWeChatError, requireToken } from './credential.js';

export const authorizerEndpoint: Endpoint = {
  name: 'authorizer',
  method: 'POST',
  path: '/cgi-bin/component/api_authorizer_token',
  // Counted under both apps: the component pays, the authorizer is served.
  appids: (req) => [field(req.body, 'component_appid'), field(req.body, 'authorizer_appid')],
  handle(req, sim) {
    const componentAppid = field(req.body, 'component_appid');
    const authorizerAppid = field(req.body, 'authorizer_appid');
    const refreshToken = field(req.body, 'authorizer_refresh_token');
    if (componentAppid === '') return fail(ERR.appidMissing);
    const cat = requireToken(
      sim,
      field(req.query, 'component_access_token'),
      ['component_access_token'],
      componentAppid,
    );
    if (isWeChatError(cat)) return fail(cat);
    const appErr = sim.apps.check(componentAppid, true) ?? sim.apps.check(authorizerAppid, sim.config.open);
    if (appErr) return fail(appErr);
    const record = sim.refreshTokens.accept(refreshToken, 'authorizer', authorizerAppid, sim.config.open);
    if (!record) return fail(ERR.authorizerRefreshTokenInvalid);
    const next = sim.refreshTokens.successor(refreshToken, record, sim.config.rotateAuthorizerRefreshTokens);
    const token = sim.issue('authorizer_access_token', authorizerAppid, authorizerAppid);
    return {
      authorizer_access_token: token.value,
      expires_in: secondsLeft(token, token.issuedAt),
      authorizer_refresh_token: next,
    };
  },
};

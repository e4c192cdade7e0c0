// GET /sns/oauth2/refresh_token: a web OAuth2 access_token for one user
// (task type 2). While the user's access_token is unexpired, WeChat keeps it
// and only extends its lifetime ("若access_token未超时，那么进行refresh_token
// 不会改变access_token，但超时时间会刷新"); once it ran out, a new one is
// issued. The refresh token is rotated on every use unless disabled.
import { ERR, fail } from '../errors.js';
import { field, type Endpoint } from '../endpoint.js';
import { secondsLeft } from '../state.js';

export const oauthEndpoint: Endpoint = {
  name: 'oauth',
  method: 'GET',
  path: '/sns/oauth2/refresh_token',
  appids: (req) => [field(req.query, 'appid')],
  handle(req, sim) {
    const appid = field(req.query, 'appid');
    const refreshToken = field(req.query, 'refresh_token');
    if (field(req.query, 'grant_type') !== 'refresh_token') return fail(ERR.invalidGrantType);
    const appErr = sim.apps.check(appid, sim.config.open);
    if (appErr) return fail(appErr);
    if (refreshToken === '') return fail(ERR.refreshTokenMissing);
    const record = sim.refreshTokens.accept(refreshToken, 'oauth', appid, sim.config.open);
    if (!record) return fail(ERR.invalidRefreshToken);
    // Without a seeded openid every refresh token of an app is "the same user".
    const openid = record.openid ?? `o_${appid}`;
    const next = sim.refreshTokens.successor(refreshToken, record, sim.config.rotateRefreshTokens);
    const owner = `${appid}:${openid}`;
    const current = sim.tokens.latest('oauth_access_token', owner);
    const now = sim.now();
    let token;
    if (current && sim.tokens.check(current.value, now).status === 'valid') {
      sim.tokens.extend(current, sim.lifetime('oauth_access_token', appid), now);
      token = { ...current, issuedAt: now };
    } else {
      token = sim.issue('oauth_access_token', owner, appid);
    }
    return {
      access_token: token.value,
      expires_in: secondsLeft(token, token.issuedAt),
      refresh_token: next,
      openid,
      scope: 'snsapi_userinfo',
    };
  },
};

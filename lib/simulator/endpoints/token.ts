// GET /cgi-bin/token: the official account access_token (task type 0).
// Every successful call issues a new token; the previous one keeps working
// for the grace period only, as on WeChat.
import { ERR, fail } from '../errors.js';
import { field, type Endpoint } from '../endpoint.js';
import { secondsLeft } from '../state.js';

export const tokenEndpoint: Endpoint = {
  name: 'token',
  method: 'GET',
  path: '/cgi-bin/token',
  appids: (req) => [field(req.query, 'appid')],
  handle(req, sim) {
    const appid = field(req.query, 'appid');
    if (field(req.query, 'grant_type') !== 'client_credential') return fail(ERR.invalidGrantType);
    const err = sim.apps.authenticate(appid, field(req.query, 'secret'), sim.config.open);
    if (err) return fail(err);
    const token = sim.issue('access_token', appid, appid);
    return { access_token: token.value, expires_in: secondsLeft(token, token.issuedAt) };
  },
};

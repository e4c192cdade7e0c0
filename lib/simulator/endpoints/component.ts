// POST /cgi-bin/component/api_component_token: the open platform
// component_access_token (task type 3), which needs a good verify ticket.
import { fail } from '../errors.js';
import { field, type Endpoint } from '../endpoint.js';
import { secondsLeft } from '../state.js';

export const componentEndpoint: Endpoint = {
  name: 'component',
  method: 'POST',
  path: '/cgi-bin/component/api_component_token',
  appids: (req) => [field(req.body, 'component_appid')],
  handle(req, sim) {
    const appid = field(req.body, 'component_appid');
    const err =
      sim.apps.authenticate(appid, field(req.body, 'component_appsecret'), sim.config.open) ??
      sim.verifyTickets.check(field(req.body, 'component_verify_ticket'), sim.config.open);
    if (err) return fail(err);
    const token = sim.issue('component_access_token', appid, appid);
    return { component_access_token: token.value, expires_in: secondsLeft(token, token.issuedAt) };
  },
};

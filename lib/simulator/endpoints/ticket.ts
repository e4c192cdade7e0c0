// GET /cgi-bin/ticket/getticket: the jsapi_ticket (task type 1, type=jsapi)
// and the wx_card api_ticket (task type 5, type=wx_card). It needs a currently
// valid access_token of the app; each call issues a new ticket of that type.
import { ERR, fail } from '../errors.js';
import { field, type Endpoint } from '../endpoint.js';
import { secondsLeft, type SimulatorState } from '../state.js';
import { ACCESS_TOKEN_KINDS, isWeChatError, requireToken } from './credential.js';

/** The appid whose access_token was presented, when WeChat would know it. */
function ownerOf(accessToken: string, sim: SimulatorState): string[] {
  const record = sim.tokens.check(accessToken, sim.now()).record;
  return record && ACCESS_TOKEN_KINDS.includes(record.kind) ? [record.owner] : [];
}

export const ticketEndpoint: Endpoint = {
  name: 'ticket',
  method: 'GET',
  path: '/cgi-bin/ticket/getticket',
  appids: (req, sim) => ownerOf(field(req.query, 'access_token'), sim),
  handle(req, sim) {
    const token = requireToken(sim, field(req.query, 'access_token'), ACCESS_TOKEN_KINDS);
    if (isWeChatError(token)) return fail(token);
    const type = field(req.query, 'type');
    if (type !== 'jsapi' && type !== 'wx_card') return fail(ERR.invalidArgs);
    const ticket = sim.issue(type === 'jsapi' ? 'jsapi_ticket' : 'wx_card_ticket', token.owner, token.owner);
    return { errcode: 0, errmsg: 'ok', ticket: ticket.value, expires_in: secondsLeft(ticket, ticket.issuedAt) };
  },
};

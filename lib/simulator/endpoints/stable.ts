// POST /cgi-bin/stable_token: the "stable" access_token.
//
// Shared state with /cgi-bin/token: none. WeChat documents the two as
// "完全隔离，互不影响" (fully isolated), so each has its own current token per
// appid: fetching one never invalidates the other. Both are access tokens
// of the app and both are accepted by getticket.
import { field, type Endpoint } from '../endpoint.js';
import { ERR, fail } from '../errors.js';
import { secondsLeft, type SimulatorState } from '../state.js';
import type { TokenRecord } from '../token-registry.js';

/** Normal mode keeps the current token while more than min(5 min, 20 % of its life) is left. */
function stillFresh(token: TokenRecord, sim: SimulatorState): boolean {
  const now = sim.now();
  if (sim.tokens.check(token.value, now).status !== 'valid') return false;
  const renewWindow = Math.min(300_000, 0.2 * (token.expiresAt - token.issuedAt));
  return token.expiresAt - now > renewWindow;
}

export const stableEndpoint: Endpoint = {
  name: 'stable',
  method: 'POST',
  path: '/cgi-bin/stable_token',
  appids: (req) => [field(req.body, 'appid')],
  handle(req, sim) {
    const appid = field(req.body, 'appid');
    if (field(req.body, 'grant_type') !== 'client_credential') return fail(ERR.invalidGrantType);
    const err = sim.apps.authenticate(appid, field(req.body, 'secret'), sim.config.open);
    if (err) return fail(err);
    const now = sim.now();
    if (req.body.force_refresh === true) {
      const quota = sim.forceQuota.check(appid, now, sim.config.stableForceDailyLimit, sim.config.stableForceIntervalSeconds);
      if (quota) return fail(quota);
      sim.forceQuota.record(appid, now);
    } else {
      const current = sim.tokens.latest('stable_access_token', appid);
      if (current && stillFresh(current, sim)) {
        return { access_token: current.value, expires_in: secondsLeft(current, now) };
      }
    }
    const token = sim.issue('stable_access_token', appid, appid);
    return { access_token: token.value, expires_in: secondsLeft(token, token.issuedAt) };
  },
};

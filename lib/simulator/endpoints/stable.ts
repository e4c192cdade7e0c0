// POST /cgi-bin/stable_token: the "stable" access_token.
//
// Shared state with /cgi-bin/token: none. WeChat documents the two as
// "完全隔离，互不影响" (fully isolated), so each has its own current token per
// appid: fetching one never invalidates the other. Both are access tokens
// of the app and both are accepted by getticket.
//
// Two modes, as WeChat documents them:
// - normal (force_refresh false or absent): the current token is returned,
//   with the seconds it has left, until its last min(5 min, 20 % of its
//   life); then a new one is issued and the old one lives out its time.
// - forced (force_refresh true): "会导致上次获取的 access_token 失效" — a new
//   token at once, and the previous one stops working immediately. At most
//   stableForceDailyLimit a Beijing day (45009) and stableForceIntervalSeconds
//   apart (45011).
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
    const current = sim.tokens.latest('stable_access_token', appid);
    const force = req.body.force_refresh === true;
    if (force) {
      const quota = sim.forceQuota.check(
        appid,
        now,
        sim.config.stableForceDailyLimit,
        sim.config.stableForceIntervalSeconds,
      );
      if (quota) return fail(quota);
      sim.forceQuota.record(appid, now);
    } else if (current && stillFresh(current, sim)) {
      return { access_token: current.value, expires_in: secondsLeft(current, now) };
    }
    const token = sim.issue('stable_access_token', appid, appid);
    // A forced refresh invalidates the previous token at once (no grace period).
    if (force && current) sim.tokens.cutOff(current, now);
    return { access_token: token.value, expires_in: secondsLeft(token, token.issuedAt) };
  },
};

// The simulator's token registry on an explicit clock: which tokens it still
// knows (a forgotten token answers 40001 "invalid" where a known one that ran
// out answers 42001 "expired"). A replaced token is forgotten at the first
// sweep (one per 1,000 tokens issued) more than ten minutes after it stopped
// being valid; the newest token of an owner never is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenRegistry, type TokenKind, type TokenRecord } from '../lib/simulator/token-registry.js';

const FORGET_MS = 600_000;
const SWEEP_EVERY = 1000;

/** A registry and the number of tokens it issued, so a test knows when it sweeps. */
class Clocked {
  readonly reg = new TokenRegistry();
  issued = 0;

  issue(owner: string, lifetimeS: number, graceS: number, now: number, kind: TokenKind = 'access_token'): TokenRecord {
    this.issued++;
    return this.reg.issue(kind, owner, lifetimeS, graceS, now);
  }

  /** Issues tokens to fresh owners at `now` until the registry has just swept. */
  sweepAt(now: number): void {
    do this.issue(`filler-${this.issued}`, 7200, 300, now);
    while (this.issued % SWEEP_EVERY !== 0);
  }

  known(r: TokenRecord, now = 0): boolean {
    return this.reg.check(r.value, now).record !== undefined;
  }
}

test('a replaced token is forgotten ten minutes after its grace period ends, not before', () => {
  const c = new Clocked();
  const a = c.issue('wxA', 7200, 300, 0);
  c.issue('wxA', 7200, 300, 1000); // a stays valid until 301,000
  assert.is(c.reg.check(a.value, 300_999).status, 'valid');
  assert.is(c.reg.check(a.value, 301_000).status, 'invalid');
  c.sweepAt(301_000 + FORGET_MS);
  assert.ok(c.known(a), 'kept at exactly ten minutes');
  c.sweepAt(301_001 + FORGET_MS);
  assert.not.ok(c.known(a), 'forgotten after ten minutes');
});

test('a token replaced near its end is forgotten ten minutes after it ran out', () => {
  const c = new Clocked();
  const b = c.issue('wxB', 60, 300, 0);
  c.issue('wxB', 60, 300, 30_000); // grace would end at 330,000; b runs out at 60,000
  c.sweepAt(60_000 + FORGET_MS);
  assert.ok(c.known(b));
  assert.is(c.reg.check(b.value, 60_000 + FORGET_MS).status, 'expired');
  c.sweepAt(60_001 + FORGET_MS);
  assert.not.ok(c.known(b));
});

test('the newest token of an owner is never forgotten, and goes at the first sweep once replaced long after it ran out', () => {
  const c = new Clocked();
  const old = c.issue('wxC', 1, 300, 0);
  for (let t = 1; t <= 4; t++) c.sweepAt(t * 3_600_000);
  assert.is(c.reg.check(old.value, 4 * 3_600_000).status, 'expired');
  assert.is(c.reg.latest('access_token', 'wxC'), old);
  const next = c.issue('wxC', 1, 300, 4 * 3_600_000);
  assert.ok(c.known(old), 'replaced, but no sweep yet');
  c.sweepAt(4 * 3_600_000);
  assert.not.ok(c.known(old));
  assert.ok(c.known(next));
});

test('a forced stable_token refresh ends the grace period at once, and forgetting follows it', () => {
  const c = new Clocked();
  const s = c.issue('wxS', 7200, 300, 0, 'stable_access_token');
  c.issue('wxS', 7200, 300, 5000, 'stable_access_token');
  c.reg.cutOff(s, 5000);
  assert.is(c.reg.check(s.value, 5000).status, 'invalid');
  c.sweepAt(5000 + FORGET_MS);
  assert.ok(c.known(s));
  c.sweepAt(5001 + FORGET_MS);
  assert.not.ok(c.known(s));
});

test('clear() forgets everything, and later tokens of the same owners follow the rules again', () => {
  const c = new Clocked();
  const a = c.issue('wxA', 7200, 0, 0);
  c.issue('wxA', 7200, 0, 0);
  c.reg.clear();
  assert.not.ok(c.known(a));
  const fresh = c.issue('wxA', 7200, 0, 10 * FORGET_MS);
  c.sweepAt(20 * FORGET_MS);
  assert.ok(c.known(fresh), 'the newest token after clear() is kept');
  assert.is(c.reg.latest('access_token', 'wxA'), fresh);
});

/**
 * Random lifetimes, grace periods, clocks, forced refreshes and clears,
 * checked against the rule itself: at every sweep, forget each token that is
 * not its owner's newest and stopped being valid more than ten minutes ago.
 */
test('knows exactly the tokens the forgetting rule keeps, on a random history', () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const c = new Clocked();
  let issued: TokenRecord[] = [];
  const kept = new Set<TokenRecord>();
  const newest = new Map<string, TokenRecord>();
  let now = 1_000_000;
  let forgotten = 0;
  for (let step = 0; step < 30_000; step++) {
    now += rand(4) === 0 ? rand(20_000) : rand(50);
    if (rand(10_000) === 0) {
      c.reg.clear();
      issued = [];
      kept.clear();
      newest.clear();
    }
    const owner = `wx${rand(100)}`;
    const previous = newest.get(owner);
    const r = c.issue(owner, 1 + rand(900), rand(301), now);
    issued.push(r);
    kept.add(r);
    newest.set(owner, r);
    if (previous && rand(20) === 0) c.reg.cutOff(previous, now);
    if (c.issued % SWEEP_EVERY !== 0) continue;
    for (const m of kept) {
      const end = Math.min(m.expiresAt, m.supersededUntil ?? Infinity);
      if (end + FORGET_MS < now && newest.get(m.owner) !== m) kept.delete(m);
    }
    for (const m of issued)
      assert.is(c.known(m), kept.has(m), `step ${step}: ${m.owner}'s token issued at ${m.issuedAt}`);
    forgotten = Math.max(forgotten, issued.length - kept.size);
  }
  assert.ok(forgotten > 1000, `the history forgot tokens (${forgotten} at most at once)`);
});

test.run();

// docs/api.md §4 timing rules as pure functions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffMs, BACKOFF_CAP_MS, isUsable, refreshAt, refreshWindow, stableRefreshAt } from '../lib/timing.js';

const T = 1_000_000_000_000;

test('refresh at min(300 s, 20 % of expires_in) before expiry', () => {
  assert.is(refreshAt(T, 7200), T - 300_000, 'a 7200 s token 300 s before');
  assert.is(refreshAt(T + 5_000, 5), T + 4_000, 'a 5 s token after 4 s');
  assert.is(refreshAt(T, 1000), T - 200_000);
});

test('the jitter window moves refreshes earlier only, by at most 5 % of the lifetime and 60 s', () => {
  assert.equal(refreshWindow(T, 7200), { earliest: refreshAt(T, 7200) - 60_000, latest: refreshAt(T, 7200) });
  assert.equal(refreshWindow(T, 100), { earliest: refreshAt(T, 100) - 5_000, latest: refreshAt(T, 100) });
});

test("stable_token refreshes fall just after the refresh point, inside WeChat's renewal window", () => {
  for (const r of [0, 0.5, 0.999]) {
    const at = stableRefreshAt(T, 7200, r);
    assert.ok(
      at > refreshAt(T, 7200) && at <= refreshAt(T, 7200) + 10_000,
      `r=${r}: ${at - refreshAt(T, 7200)} ms after`,
    );
  }
  assert.ok(stableRefreshAt(T, 5, 0.999) < T, 'still before expiry for a short token');
});

test('back-off: first retry within 2 s, doubling, capped at 300 s', () => {
  assert.ok(backoffMs(1) <= 2_000);
  assert.is(backoffMs(2), 2 * backoffMs(1));
  assert.is(backoffMs(3), 4 * backoffMs(1));
  assert.is(backoffMs(30), BACKOFF_CAP_MS);
  assert.is(BACKOFF_CAP_MS, 300_000);
});

test('a value is usable only before it expires', () => {
  assert.ok(isUsable('v', T + 1, T));
  assert.not.ok(isUsable('v', T, T));
  assert.not.ok(isUsable(null, T + 1, T));
});

test.run();

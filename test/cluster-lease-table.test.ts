// The shared lease table: what shard threads read before every WeChat call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LeaseTable, monoNow } from '../lib/cluster/lease-table.js';
import { slotOf } from '../lib/util/shard-of.js';

const appid = 'wx0123456789abcdef';
const slot = slotOf(appid);

test('a held slot allows calls until a fifth of the lease before its end, then none', () => {
  const t = new LeaseTable(undefined, 10_000);
  assert.is(t.marginMs, 2_000);
  assert.is(t.mayCall(appid, 1_000), false);
  assert.is(t.fenceOf(appid), null);
  t.set(slot, 7, 11_000);
  assert.is(t.held(slot), 7);
  assert.is(t.fenceOf(appid), 7);
  assert.is(t.callFence(appid, 8_999), 7);
  assert.is(t.mayCall(appid, 8_999), true);
  assert.is(t.mayCall(appid, 9_000), false);
  assert.is(t.fenceOf(appid), 7, 'still held, only no longer callable');
  t.clear(slot);
  assert.is(t.held(slot), 0);
  assert.is(t.mayCall(appid, 0), false);
  assert.equal(t.heldSlots(), []);
});

test("a table built on another one's buffer sees its slots and its margin", () => {
  const owner = new LeaseTable(undefined, 1_000);
  const reader = new LeaseTable(owner.buffer, 99_999);
  assert.is(reader.marginMs, 200);
  const until = monoNow() + 60_000;
  owner.set(slot, 2 ** 40, until);
  assert.is(reader.fenceOf(appid), 2 ** 40, 'fences beyond 32 bits survive');
  assert.ok(reader.mayCall(appid));
  assert.ok(Math.abs(reader.validUntil(slot) - until) < 0.01);
  assert.equal(reader.heldSlots(), [slot]);
  assert.throws(() => owner.set(1024, 1, 1), /slot 1024/);
  assert.throws(() => new LeaseTable(new SharedArrayBuffer(8)), /bytes/);
});

test('monoNow moves forward', () => {
  const a = monoNow();
  const b = monoNow();
  assert.ok(b >= a);
  assert.ok(a > 0);
});

test.run();

// The shared lease table: what shard threads read before every WeChat call.
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LeaseTable } from '../lib/cluster/lease-table.js';
import { monoNow } from '../lib/timing.js';
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

const WORKER = new URL('./helpers/lease-table-worker.ts', import.meta.url).href;
// Node 20 loads a worker's entry before `--import tsx` has hooked in, so the entry registers tsx itself.
const ENTRY = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER)}); })`;

interface Seen {
  now: number;
  fence: number | null;
  callFence: number | null;
}

test('a shard thread sees the table as the keeper writes it, on the same monotonic clock', async () => {
  const table = new LeaseTable(undefined, 10_000);
  const worker = new Worker(ENTRY, { eval: true, workerData: { buffer: table.buffer, appid } });
  const messages: unknown[] = [];
  let wake: () => void = () => undefined;
  worker.on('message', (m) => {
    messages.push(m);
    wake();
  });
  const next = async (): Promise<unknown> => {
    while (messages.length === 0) await new Promise<void>((r) => (wake = r));
    return messages.shift();
  };
  try {
    assert.is(await next(), 'ready');
    const ask = async (): Promise<{ seen: Seen; before: number; after: number }> => {
      const before = monoNow();
      worker.postMessage('look');
      const seen = (await next()) as Seen;
      return { seen, before, after: monoNow() };
    };
    let r = await ask();
    assert.equal([r.seen.fence, r.seen.callFence], [null, null]);
    assert.ok(r.seen.now >= r.before && r.seen.now <= r.after, 'the thread and the keeper read one clock');
    table.set(slot, 42, monoNow() + 60_000);
    r = await ask();
    assert.equal([r.seen.fence, r.seen.callFence], [42, 42]);
    table.set(slot, 42, monoNow() + 1_000);
    r = await ask();
    assert.equal([r.seen.fence, r.seen.callFence], [42, null], 'within the margin: held, not callable');
    table.clear(slot);
    r = await ask();
    assert.equal([r.seen.fence, r.seen.callFence], [null, null]);
  } finally {
    await worker.terminate();
  }
});

test('monoNow moves forward', () => {
  const a = monoNow();
  const b = monoNow();
  assert.ok(b >= a);
  assert.ok(a > 0);
});

test.run();

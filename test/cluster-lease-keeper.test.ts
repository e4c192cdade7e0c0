// Leased slot ownership on a real redis-server: several keepers in this
// process, each with its own client, table and instance id. Throughout, a
// watch checks that no slot is ever callable on two keepers at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { monoNow } from '../lib/timing.js';
import { SLOT_COUNT } from '../lib/util/shard-of.js';
import { at } from './helpers/must.js';
import { LeaseCluster, Member } from './helpers/lease-cluster.js';
import { waitFor } from './helpers/poll.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';

const missing = redisMissing();
if (missing) throw new Error(missing);

const LEASE_MS = 2_000;
/** 12 apps over three instances: a fair share of 4, so each must end with 2 to 6. */
const APPS = Array.from({ length: 12 }, (_, i) => `wx${(0xa11ce + i * 7919).toString(16).padStart(16, '0')}`);

let redis: RunningRedis;
const clusters: LeaseCluster[] = [];
let prefixes = 0;

test.before(async () => {
  redis = await startRedis();
});

test.after.each(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});

test.after(async () => {
  await redis.stop();
});

function cluster(apps: string[] = APPS): LeaseCluster {
  const c = new LeaseCluster(redis.url, `t${++prefixes}:`, LEASE_MS, apps);
  clusters.push(c);
  c.startWatch();
  return c;
}

/** One started member per id, in order (a tuple as long as `ids`). */
async function started<const I extends string[]>(c: LeaseCluster, ids: I): Promise<{ [K in keyof I]: Member }> {
  const ms: Member[] = [];
  for (const id of ids) ms.push(await c.add(id));
  for (const m of ms) m.keeper.start();
  return ms as { [K in keyof I]: Member };
}

async function balanced(c: LeaseCluster, ms: Member[], what: string, timeoutMs = 30_000): Promise<number> {
  const t0 = monoNow();
  let why: string | null = null;
  await waitFor(
    `${what} (${why ?? 'not yet'})`,
    () => {
      why = c.unbalanced(ms);
      return why === null;
    },
    timeoutMs,
    20,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last: ${why}`);
  });
  return monoNow() - t0;
}

test('three keepers split the 1024 slots and 12 apps within bounds, as Redis records it', async () => {
  const c = cluster();
  const ms = await started(c, ['a', 'b', 'c']);
  const took = await balanced(c, ms, 'three keepers to share the slots');
  console.log(`  three keepers balanced after ${Math.round(took)} ms`);
  assert.equal(await c.mismatches(ms), []);
  for (const m of ms) {
    assert.is(m.keeper.heldCount(), m.table.heldSlots().length);
    assert.equal(
      m.keeper.instances().map((i) => i.id),
      ['a', 'b', 'c'],
    );
    assert.is(m.keeper.degraded(), null);
    assert.ok(m.keeper.metrics().acquired >= m.keeper.heldCount());
  }
  const [a, b] = ms;
  const slotOfA = at(a.table.heldSlots(), 0, 'slot held by a');
  await b.keeper.tick();
  assert.is(b.keeper.ownerOf(slotOfA), 'a', 'the cluster view names the holder');
  assert.is(a.keeper.ownerOf(slotOfA), 'a');
  assert.equal(c.violations, []);
});

test('a keeper that stops renewing: no calls before others take over, none after it resumes, its fence is stale', async () => {
  const c = cluster();
  const ms = await started(c, ['a', 'b', 'c']);
  await balanced(c, ms, 'three keepers to share the slots');
  const [a, b, cc] = ms;
  const had = a.table.heldSlots();
  const oldFence = new Map(had.map((s) => [s, a.table.held(s)]));
  assert.ok(had.length > 0);
  const callableAtTakeOver: number[] = [];
  for (const m of [b, cc])
    m.onGain = (slots) => {
      for (const s of slots) if (a.table.slotCallFence(s) !== null) callableAtTakeOver.push(s);
    };

  // A pause: its timers stop, nothing is given back.
  a.keeper.stop();
  const pausedAt = monoNow();
  await waitFor('a to stop allowing calls', () => had.every((s) => a.table.slotCallFence(s) === null), 20_000, 5);
  const quietAfter = monoNow() - pausedAt;
  const took = await balanced(c, [b, cc], 'b and c to take every slot of a', 30_000);
  const failover = monoNow() - pausedAt;
  console.log(
    `  a stopped calling after ${Math.round(quietAfter)} ms, b and c held all after ${Math.round(failover)} ms`,
  );
  assert.ok(took >= 0);
  assert.ok(
    had.every((s) => a.table.validUntil(s) - a.table.marginMs <= pausedAt + LEASE_MS - a.table.marginMs),
    'calls stop a margin before the lease ends, counted from before the pause',
  );
  assert.equal(callableAtTakeOver, [], 'no slot was still callable on a when taken over');

  // Fencing: every slot a had was taken with a newer fence; a write carrying a's is refused.
  const fences = await b.client.mGet(had.map((s) => c.keys.fence(s)));
  had.forEach((s, i) => assert.ok(Number(fences[i]) > (oldFence.get(s) ?? 0), `slot ${s} fenced anew`));

  // Resuming: before its first round its table already allows nothing; after it, it holds nothing it lost.
  a.keeper.start();
  assert.ok(
    had.every((s) => a.table.slotCallFence(s) === null),
    'nothing callable on waking',
  );
  await a.keeper.tick();
  const stillBelieved = had.filter((s) => a.table.held(s) === oldFence.get(s));
  assert.equal(stillBelieved, [], 'a believes it holds none of its old leases');
  assert.ok(a.keeper.metrics().losses >= had.length);
  await waitFor('a to be told to stop its lost slots', () => had.every((s) => a.lost.includes(s)), 10_000, 20);

  // It rejoins and gets a fair share back, under new fences.
  await balanced(c, ms, 'a to get a share back');
  assert.equal(await c.mismatches(ms), []);
  assert.equal(c.violations, []);
});

test('a keeper whose own clock says the lease ran out gives everything up, then takes it again under new fences', async () => {
  const c = cluster();
  const [x] = await started(c, ['x']);
  await balanced(c, [x], 'x to take every slot');
  x.keeper.stop();
  await x.keeper.settled();
  const fences = Array.from({ length: SLOT_COUNT }, (_, s) => x.table.held(s));
  x.clock.offset += LEASE_MS;
  assert.ok(
    fences.every((_, s) => x.table.slotCallFence(s, x.clock.mono()) === null),
    'no call allowed once the lease is over by its clock',
  );
  await x.keeper.tick();
  // (On a slow machine the same round may already take the slots again: under new fences.)
  assert.ok(
    fences.every((f, s) => x.table.held(s) !== f),
    'no old lease is held',
  );
  assert.is(x.keeper.metrics().losses, SLOT_COUNT);
  await x.keeper.settled();
  assert.is(new Set(x.lost).size, SLOT_COUNT);
  // Its leases were still its own in Redis: deleted, not left to block the slots until they expire.
  const values = await x.client.mGet(fences.map((_, s) => c.keys.lease(s)));
  assert.equal(
    values.filter((v, s) => v === `x|${fences[s]}`),
    [],
  );
  await x.keeper.tick();
  assert.is(x.keeper.heldCount(), SLOT_COUNT);
  assert.ok(fences.every((f, s) => x.table.held(s) === f + 1));
  assert.is(x.keeper.metrics().acquired, 2 * SLOT_COUNT);
  assert.equal(await c.mismatches([x]), []);
});

test('a renewal refused (the lease holds another value) clears that slot at once and only that one', async () => {
  const c = cluster();
  const [x] = await started(c, ['x']);
  await balanced(c, [x], 'x to take every slot');
  x.keeper.stop();
  await x.keeper.settled();
  await x.keeper.tick();
  const fence = x.table.held(5);
  assert.ok(x.table.slotCallFence(5) !== null);
  await x.client.set(c.keys.lease(5), `other|${fence + 1}`, { PX: 60_000 });
  await x.keeper.tick();
  assert.is(x.table.held(5), 0);
  assert.is(x.table.slotCallFence(5), null);
  assert.is(x.keeper.heldCount(), SLOT_COUNT - 1);
  assert.is(x.keeper.metrics().losses, 1);
  assert.is(x.keeper.ownerOf(5), 'other');
  await x.keeper.settled();
  assert.equal(x.lost, [5]);
  assert.is(await x.client.get(c.keys.lease(5)), `other|${fence + 1}`, 'the other holder is left alone');
});

test('slots whose start failed are handed back, then taken again', async () => {
  const c = cluster();
  const x = await c.add('x');
  x.failGain = new Error('the store could not load the slots');
  x.keeper.start();
  await balanced(c, [x], 'x to take every slot after its first attempt failed');
  await x.keeper.settled();
  assert.is(new Set(x.lost).size, SLOT_COUNT, 'lose() was called for the slots that did not start');
  assert.equal(x.keeper.metrics(), { held: SLOT_COUNT, acquired: 2 * SLOT_COUNT, released: SLOT_COUNT, losses: 0 });
  assert.equal(await c.mismatches([x]), []);
});

test('two live processes with one instance id: the second takes nothing and says why; a restart under the same id takes over', async () => {
  const c = cluster();
  const [first] = await started(c, ['d']);
  await balanced(c, [first], 'the first d to take every slot');
  const [second] = await started(c, ['d']);
  await waitFor('the second d to see the first', () => second.keeper.degraded());
  assert.match(second.keeper.degraded() ?? '', /another live instance runs with the id "d"/);
  for (let i = 0; i < 3; i++) await second.keeper.tick();
  assert.is(second.keeper.heldCount(), 0);
  assert.is(second.keeper.metrics().acquired, 0);
  await balanced(c, [first], 'the first d to keep every slot');

  // The first dies without a word (its leases and alive key run out); the second, same id, takes over.
  const fences = Array.from({ length: SLOT_COUNT }, (_, s) => first.table.held(s));
  first.keeper.stop();
  await balanced(c, [second], 'the restarted d to take every slot');
  assert.is(second.keeper.degraded(), null);
  assert.ok(fences.every((f, s) => second.table.held(s) > f));
  assert.equal(await c.mismatches([second]), []);
  assert.equal(c.violations, []);
});

test('a keeper that joins gets its share of apps within 30 s; one that leaves hands its slots over at once', async () => {
  const c = cluster();
  const [a, b] = await started(c, ['a', 'b']);
  await balanced(c, [a, b], 'two keepers to share the slots');
  const [j] = await started(c, ['j']);
  const joined = await balanced(c, [a, b, j], 'the joiner to get its share');
  console.log(`  joiner balanced after ${Math.round(joined)} ms`);
  assert.equal(await c.mismatches([a, b, j]), []);

  // One registration more moves at most one slot.
  const before = [a, b, j].map((m) => m.table.heldSlots().join());
  c.setApps([...APPS, 'wxffffffffffff0001']);
  for (const m of [a, b, j]) await m.keeper.tick();
  for (const m of [a, b, j]) await m.keeper.settled();
  for (const m of [a, b, j]) await m.keeper.tick();
  const moved = [a, b, j].reduce((n, m, i) => {
    const was = new Set((before[i] ?? '').split(','));
    return n + m.table.heldSlots().filter((s) => !was.has(String(s))).length;
  }, 0);
  assert.ok(moved <= 1, `${moved} slots moved for one registration`);

  const t0 = monoNow();
  await j.keeper.close();
  await balanced(c, [a, b], 'a and b to take the slots of the leaver');
  console.log(`  leaver's slots taken after ${Math.round(monoNow() - t0)} ms`);
  assert.is(j.table.heldSlots().length, 0);
  await a.keeper.tick();
  assert.equal(
    a.keeper.instances().map((i) => i.id),
    ['a', 'b'],
  );
  assert.equal(c.violations, []);
});

test('Redis killed: degraded, no calls once leases cannot be confirmed; restarted: everything taken again', async () => {
  const c = cluster();
  const ms = await started(c, ['a', 'b']);
  await balanced(c, ms, 'two keepers to share the slots');
  await redis.kill();
  const killedAt = monoNow();
  await waitFor('both keepers to say Redis is unreachable', () => ms.every((m) => m.keeper.degraded() !== null));
  for (const m of ms) assert.match(m.keeper.degraded() ?? '', /Redis/);
  await waitFor(
    'no slot callable anywhere',
    () => ms.every((m) => m.table.heldSlots().every((s) => m.table.slotCallFence(s) === null)),
    20_000,
    5,
  );
  console.log(`  calls stopped ${Math.round(monoNow() - killedAt)} ms after Redis died`);
  await waitFor('every slot given up', () => ms.every((m) => m.keeper.heldCount() === 0), 20_000, 20);
  await redis.restart();
  await waitFor('Redis to be reachable again', () => ms.every((m) => m.keeper.degraded() === null), 30_000);
  await balanced(c, ms, 'every slot to be taken again');
  assert.equal(await c.mismatches(ms), []);
  assert.equal(c.violations, []);
});

test.run();

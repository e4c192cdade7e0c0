// The slot plan every instance computes from the same view: apps (not only
// slots) evened out within bounds, and stable against single registrations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planSlots } from '../lib/cluster/balance.js';
import { SLOT_COUNT, slotOf } from '../lib/util/shard-of.js';
import { at } from './helpers/must.js';

function appsOf(appids: string[]): (slot: number) => number {
  const n = new Array<number>(SLOT_COUNT).fill(0);
  for (const a of appids) n[slotOf(a)] = at(n, slotOf(a)) + 1;
  return (s) => at(n, s, 'slot');
}

function ids(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `wx${(from + i).toString(16).padStart(16, '0')}`);
}

function shares(plan: (string | null)[], apps: (s: number) => number) {
  const out: Record<string, { apps: number; slots: number }> = {};
  plan.forEach((o, s) => {
    if (o === null) return;
    out[o] ??= { apps: 0, slots: 0 };
    out[o].apps += apps(s);
    out[o].slots++;
  });
  return out;
}

function assertWithinBounds(plan: (string | null)[], apps: (s: number) => number, instances: string[], total: number) {
  const got = shares(plan, apps);
  const fair = total / instances.length;
  for (const id of instances) {
    const mine = got[id]?.apps ?? 0;
    assert.ok(mine >= 0.5 * fair && mine <= 1.5 * fair, `${id} has ${mine} apps, fair share ${fair}`);
    const slots = got[id]?.slots ?? 0;
    const fairSlots = SLOT_COUNT / instances.length;
    assert.ok(slots >= 0.5 * fairSlots && slots <= 1.5 * fairSlots, `${id} has ${slots} slots`);
  }
  assert.ok(
    plan.every((o) => o !== null),
    'every slot has an owner',
  );
}

const nobody = () => new Array<string | null>(SLOT_COUNT).fill(null);

test('a lone instance gets every slot; three share 12 apps within bounds from nothing and after a join', () => {
  const appids = ids(12);
  const apps = appsOf(appids);
  const alone = planSlots({ instances: ['a'], owners: nobody(), appsInSlot: apps });
  assert.ok(alone.every((o) => o === 'a'));
  const three = ['a', 'b', 'c'];
  assertWithinBounds(planSlots({ instances: three, owners: nobody(), appsInSlot: apps }), apps, three, 12);
  // b and c join an instance that holds everything.
  assertWithinBounds(planSlots({ instances: three, owners: alone, appsInSlot: apps }), apps, three, 12);
});

test('many apps over uneven slots: a join and a leave end within bounds', () => {
  const appids = ids(5000);
  const apps = appsOf(appids);
  const two = planSlots({ instances: ['a', 'b'], owners: nobody(), appsInSlot: apps });
  assertWithinBounds(two, apps, ['a', 'b'], 5000);
  const three = planSlots({ instances: ['a', 'b', 'c'], owners: two, appsInSlot: apps });
  assertWithinBounds(three, apps, ['a', 'b', 'c'], 5000);
  // b leaves: its slots are free once its leases ran out.
  const left = three.map((o) => (o === 'b' ? null : o));
  assertWithinBounds(planSlots({ instances: ['a', 'c'], owners: left, appsInSlot: apps }), apps, ['a', 'c'], 5000);
});

test('stable: a balanced cluster moves nothing, and one more registration moves at most one slot', () => {
  for (const total of [12, 300, 5000]) {
    const appids = ids(total);
    const apps = appsOf(appids);
    const instances = ['a', 'b', 'c'];
    const plan = planSlots({ instances, owners: nobody(), appsInSlot: apps });
    assert.equal(planSlots({ instances, owners: plan, appsInSlot: apps }), plan, 'a settled plan is a fixed point');
    for (const extra of ids(20, 1_000_000)) {
      const more = appsOf([...appids, extra]);
      const next = planSlots({ instances, owners: plan, appsInSlot: more });
      const moved = next.filter((o, s) => o !== plan[s]).length;
      assert.ok(moved <= 1, `${moved} slots moved for one registration among ${total}`);
    }
  }
});

test('a slot held by an instance that is not alive stays put; unknown order of instances gives the same plan', () => {
  const apps = appsOf(ids(100));
  const owners = nobody();
  owners[5] = 'ghost';
  const p1 = planSlots({ instances: ['b', 'a'], owners, appsInSlot: apps });
  const p2 = planSlots({ instances: ['a', 'b', 'a'], owners, appsInSlot: apps });
  assert.is(p1[5], 'ghost');
  assert.equal(p1, p2);
  assert.equal(planSlots({ instances: [], owners, appsInSlot: apps }), owners);
});

test.run();

import { SLOT_COUNT } from '../util/shard-of.js';

export interface BalanceInput {
  /** The instances that may take slots (alive), in any order. */
  instances: readonly string[];
  /** Per slot, the instance holding its lease now, or null when nobody does. */
  owners: readonly (string | null)[];
  /** How many apps a slot holds (every instance knows every app). */
  appsInSlot(slot: number): number;
}

/** An instance's share may drift this far from the fair one before slots move: registrations alone then move nothing. */
const TOLERANCE = 0.25;

interface Load {
  id: string;
  apps: number;
  slots: number;
}

/**
 * Who should hold each slot: every instance computes this from the same
 * view (the leases and live instances in Redis), takes the free slots
 * given to it and hands over those given to another.
 *
 * Apps, not slots, are what costs work, so the plan evens out apps first:
 * free slots go to the least loaded instance, and once some instance is
 * more than a quarter away from its fair share of apps, slots move from
 * the most to the least loaded one until no move narrows the gap. Slots
 * without apps are then spread by count the same way, so that new
 * registrations land everywhere. A slot whose holder is not among
 * `instances` stays where it is (its lease runs out first). Within the
 * tolerance nothing moves, so one registration moves at most one slot.
 */
export function planSlots(input: BalanceInput): (string | null)[] {
  const plan = input.owners.slice(0, SLOT_COUNT);
  const loads = new Map<string, Load>();
  for (const id of [...new Set(input.instances)].sort()) loads.set(id, { id, apps: 0, slots: 0 });
  if (loads.size === 0) return plan;
  const weight: number[] = [];
  const free: number[] = [];
  for (let s = 0; s < SLOT_COUNT; s++) {
    weight[s] = Math.max(0, input.appsInSlot(s));
    const owner = plan[s] ?? null;
    const load = owner === null ? undefined : loads.get(owner);
    if (load) {
      load.apps += weight[s] ?? 0;
      load.slots++;
    } else if (owner === null) free.push(s);
  }
  const w = (s: number) => weight[s] ?? 0;
  const all = [...loads.values()];
  const move = (s: number, from: Load | null, to: Load) => {
    if (from) {
      from.apps -= w(s);
      from.slots--;
    }
    to.apps += w(s);
    to.slots++;
    plan[s] = to.id;
  };

  // Free slots: the heaviest first, each to whoever has the fewest apps (then slots).
  free.sort((a, b) => w(b) - w(a) || a - b);
  for (const s of free) {
    const to =
      w(s) > 0
        ? least(
            all,
            (l) => l.apps,
            (l) => l.slots,
          )
        : least(
            all,
            (l) => l.slots,
            (l) => l.apps,
          );
    move(s, null, to);
  }

  const totalApps = all.reduce((n, l) => n + l.apps, 0);
  evenOut(
    all,
    totalApps,
    (l) => l.apps,
    (from, gap) => {
      // The slot whose apps best halve the gap, and that narrows it.
      let best = -1;
      for (let s = 0; s < SLOT_COUNT; s++) {
        if (plan[s] !== from.id || w(s) === 0 || w(s) >= gap) continue;
        if (best < 0 || Math.abs(gap - 2 * w(s)) < Math.abs(gap - 2 * w(best))) best = s;
      }
      return best;
    },
    move,
  );

  const totalSlots = all.reduce((n, l) => n + l.slots, 0);
  evenOut(
    all,
    totalSlots,
    (l) => l.slots,
    (from, gap) => {
      if (gap < 2) return -1;
      for (let s = SLOT_COUNT - 1; s >= 0; s--) if (plan[s] === from.id && w(s) === 0) return s;
      return -1;
    },
    move,
  );
  return plan;
}

/**
 * Once some instance is outside the tolerance around its fair share of
 * `measure`, move `pick`ed slots from the most to the least loaded one
 * while a move narrows the gap between them.
 */
function evenOut(
  all: Load[],
  total: number,
  measure: (l: Load) => number,
  pick: (from: Load, gap: number) => number,
  move: (s: number, from: Load, to: Load) => void,
): void {
  if (all.length < 2 || total === 0) return;
  const fair = total / all.length;
  const lo = Math.floor(fair * (1 - TOLERANCE));
  const hi = Math.ceil(fair * (1 + TOLERANCE));
  if (all.every((l) => measure(l) >= lo && measure(l) <= hi)) return;
  for (let guard = 0; guard < SLOT_COUNT; guard++) {
    const to = least(all, measure, () => 0);
    const from = least(
      all,
      (l) => -measure(l),
      () => 0,
    );
    const gap = measure(from) - measure(to);
    if (gap <= 0) return;
    const s = pick(from, gap);
    if (s < 0) return;
    move(s, from, to);
  }
}

/** The load smallest by `a`, then `b`, then id: the same choice on every instance. */
function least(all: Load[], a: (l: Load) => number, b: (l: Load) => number): Load {
  let best = all[0] as Load;
  for (const l of all) {
    const d = a(l) - a(best) || b(l) - b(best) || (l.id < best.id ? -1 : 1);
    if (d < 0) best = l;
  }
  return best;
}

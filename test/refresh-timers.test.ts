// The shard's one timer structure (workers/refresh-timers.ts), with real
// timers. Assertions are about order and membership, never about how late a
// timer fired: the box running the tests may be loaded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RefreshTimers, TimerEntry } from '../workers/refresh-timers.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from './helpers/poll.js';
import { seededRandom } from './helpers/random.js';

const random = seededRandom(19);

class Entry implements TimerEntry {
  heapIndex = -1;
  firedAt: number | null = null;
  /** Ends the run this entry's fire() started (runs end at once unless `held`). */
  finish: () => void = () => {};
  constructor(
    readonly name: string,
    private readonly log: Entry[],
    private readonly onFire?: (e: Entry) => void,
    private readonly held = false,
  ) {}
  fire(): Promise<void> {
    this.firedAt = Date.now();
    this.log.push(this);
    this.onFire?.(this);
    return this.held ? new Promise<void>((resolve) => (this.finish = resolve)) : Promise.resolve();
  }
}

test('entries fire in due order, each at or after its due time', async () => {
  const timers = new RefreshTimers();
  const log: Entry[] = [];
  const now = Date.now();
  const due = new Map<Entry, number>();
  const all: Entry[] = [];
  for (let i = 0; i < 300; i++) {
    const e = new Entry(`e${i}`, log);
    const at = now + 20 + Math.floor(random() * 300);
    due.set(e, at);
    all.push(e);
    timers.schedule(e, at);
  }
  // Shuffle the heap: cancel some, move others earlier or later.
  for (let i = 0; i < 200; i++) {
    const e = all[Math.floor(random() * all.length)]!;
    if (i % 4 === 0) {
      timers.cancel(e);
      due.delete(e);
    } else {
      const at = now + 20 + Math.floor(random() * 300);
      due.set(e, at);
      timers.schedule(e, at);
    }
  }
  assert.is(timers.size, due.size);
  await waitFor('all entries fired', () => log.length === due.size);
  for (let i = 1; i < log.length; i++)
    assert.ok(due.get(log[i - 1]!)! <= due.get(log[i]!)!, `${log[i - 1]!.name} before ${log[i]!.name}`);
  // Node's own timers have 1 ms granularity against Date.now(); allow a little of it.
  for (const e of log) assert.ok(e.firedAt! >= due.get(e)! - 2, `${e.name} fired ${due.get(e)! - e.firedAt!} ms early`);
  assert.is(timers.size, 0);
  for (const e of all) assert.is(e.heapIndex, -1);
  assert.ok(
    log.every((e) => due.has(e)),
    'no cancelled entry fired',
  );
});

test('a cancelled entry never fires; a moved one fires at its new time only', async () => {
  const timers = new RefreshTimers();
  const log: Entry[] = [];
  const now = Date.now();
  const [a, b, c, d, sentinel] = ['a', 'b', 'c', 'd', 'sentinel'].map((n) => new Entry(n, log));
  timers.schedule(a!, now + 50);
  timers.schedule(b!, now + 60);
  timers.schedule(c!, now + 400);
  timers.schedule(d!, now + 30);
  timers.schedule(sentinel!, now + 250);
  timers.cancel(b!);
  timers.cancel(b!); // twice is harmless
  timers.schedule(c!, now + 100); // earlier
  timers.schedule(d!, now + 500); // later: must not fire at its old time
  await waitFor('the sentinel', () => sentinel!.firedAt !== null);
  assert.equal(
    log.map((e) => e.name),
    ['a', 'c', 'sentinel'],
  );
  assert.is(b!.heapIndex, -1);
  await waitFor('d at its new time', () => d!.firedAt !== null);
  assert.equal(
    log.map((e) => e.name),
    ['a', 'c', 'sentinel', 'd'],
  );
  assert.is(timers.size, 0);
});

test('an earlier head re-arms the timer; a far-future one is clamped, not fired early', async () => {
  const timers = new RefreshTimers();
  const log: Entry[] = [];
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const far = new Entry('far', log);
  const hour = new Entry('hour', log);
  const soon = new Entry('soon', log);
  timers.schedule(far, Date.now() + 2 ** 33); // beyond setTimeout's 32-bit delay
  timers.schedule(hour, Date.now() + 3_600_000);
  timers.schedule(soon, Date.now() + 50); // new head: the armed timer must move earlier
  await waitFor('the new head', () => soon.firedAt !== null);
  assert.equal(
    log.map((e) => e.name),
    ['soon'],
  );
  assert.is(timers.size, 2);
  timers.cancel(far);
  timers.cancel(hour);
  assert.is(timers.size, 0);
  process.off('warning', onWarning);
  assert.not.ok(warnings.includes('TimeoutOverflowWarning'), 'no overflowing setTimeout');
});

test('everything due fires in one turn; a fire may schedule again', async () => {
  const timers = new RefreshTimers();
  const log: Entry[] = [];
  let firedBeforeNextTurn = -1;
  const at = Date.now() + 30;
  for (let i = 0; i < 1000; i++) {
    timers.schedule(
      new Entry(`e${i}`, log, () => {
        if (log.length === 1) setImmediate(() => (firedBeforeNextTurn = log.length));
      }),
      at,
    );
  }
  await waitFor('the next turn', () => firedBeforeNextTurn >= 0);
  assert.is(firedBeforeNextTurn, 1000);

  const again: Entry[] = [];
  const self = new Entry('self', again, (e) => {
    if (again.length < 3) timers.schedule(e, Date.now());
  });
  timers.schedule(self, Date.now());
  await waitFor('three fires', () => again.length === 3);
  assert.is(timers.size, 0);
});

test('a NaN due time fires at once and keeps the order of the rest', async () => {
  const timers = new RefreshTimers();
  const log: Entry[] = [];
  const later = new Entry('later', log);
  const nan = new Entry('nan', log);
  timers.schedule(later, Date.now() + 50);
  timers.schedule(nan, Number.NaN);
  await waitFor('both', () => log.length === 2);
  assert.equal(
    log.map((e) => e.name),
    ['nan', 'later'],
  );
});

test('at most maxRunning fired entries run at once; the rest wait in due order', async () => {
  const timers = new RefreshTimers(3, 60_000); // never detached here, however slow the box
  const log: Entry[] = [];
  const now = Date.now();
  const entries = Array.from({ length: 10 }, (_, i) => new Entry(`e${i}`, log, undefined, true));
  // Scheduled in reverse so that due order, not insertion order, is what the log shows.
  for (let i = entries.length - 1; i >= 0; i--) timers.schedule(entries[i]!, now + 20 + i);
  await waitFor('the first three', () => log.length === 3);
  await new Promise((r) => setTimeout(r, 100)); // all ten are due by now
  assert.equal(
    log.map((e) => e.name),
    ['e0', 'e1', 'e2'],
  );
  assert.is(timers.runningCount, 3);
  assert.is(timers.size, 7);
  entries[1]!.finish();
  await waitFor('one more after one finished', () => log.length === 4);
  assert.is(log[3]!.name, 'e3');
  for (let i = 0; i < entries.length; i++) {
    await waitFor(`e${i} fired`, () => entries[i]!.firedAt !== null);
    entries[i]!.finish();
  }
  await waitFor('all ten ran', () => timers.runningCount === 0);
  assert.equal(
    log.map((e) => e.name),
    entries.map((e) => e.name),
  );
  assert.is(timers.size, 0);
});

test('a bound given as a function is read again each time: one at a time while it says 1', async () => {
  let busy = true;
  const timers = new RefreshTimers(() => (busy ? 1 : 10), 60_000);
  const log: Entry[] = [];
  const entries = Array.from({ length: 6 }, (_, i) => new Entry(`e${i}`, log, undefined, true));
  for (const e of entries) timers.schedule(e, Date.now());
  await waitFor('the first', () => log.length === 1);
  log[0]!.finish();
  await waitFor('the second, alone', () => log.length === 2);
  assert.is(timers.runningCount, 1);
  busy = false;
  log[1]!.finish(); // the next start reads the bound again: all the rest at once
  await waitFor('the other four', () => log.length === 6);
  assert.is(timers.runningCount, 4);
  for (const e of entries) e.finish();
  timers.clear();
});

test('while paceMs gives more than 0, starts are at least that far apart; at 0, at once again', async () => {
  let pace = 40;
  const timers = new RefreshTimers(10, 60_000, () => pace);
  const log: Entry[] = [];
  for (let i = 0; i < 4; i++) timers.schedule(new Entry(`p${i}`, log), Date.now());
  await waitFor('four paced starts', () => log.length === 4);
  for (let i = 1; i < 4; i++) {
    const gap = log[i]!.firedAt! - log[i - 1]!.firedAt!;
    assert.ok(gap >= 38, `start ${i} came ${gap} ms after the one before`); // Node's timers: 1 ms granularity
  }
  pace = 0;
  const after: Entry[] = [];
  // One turn of the event loop, told by an immediate the first start queues (not by the clock).
  let turnEnded = false;
  const late: string[] = [];
  const onFire = (e: Entry) => {
    if (turnEnded) late.push(e.name);
    else if (e === after[0]) setImmediate(() => (turnEnded = true));
  };
  const at = Date.now() + 20;
  for (let i = 0; i < 6; i++) timers.schedule(new Entry(`q${i}`, after, onFire), at);
  await waitFor('six unpaced starts', () => after.length === 6);
  assert.equal(late, [], 'all six in the turn of the first');
});

test('a run longer than detachMs stops holding its place', async () => {
  const timers = new RefreshTimers(1, 150);
  const log: Entry[] = [];
  const stuck = new Entry('stuck', log, undefined, true);
  const next = new Entry('next', log);
  timers.schedule(stuck, Date.now());
  timers.schedule(next, Date.now() + 1);
  await waitFor('stuck fired', () => stuck.firedAt !== null);
  await waitFor('next, once stuck was detached', () => next.firedAt !== null);
  assert.ok(next.firedAt! - stuck.firedAt! >= 140, `next fired ${next.firedAt! - stuck.firedAt!} ms after stuck`);
  assert.is(timers.runningCount, 0);
  stuck.finish(); // finishing late changes nothing
  await new Promise((r) => setImmediate(r));
  assert.is(timers.runningCount, 0);
  assert.equal(
    log.map((e) => e.name),
    ['stuck', 'next'],
  );
});

test('clear drops every entry', () => {
  const timers = new RefreshTimers();
  const log: Entry[] = [];
  const entries = Array.from({ length: 100 }, (_, i) => new Entry(`e${i}`, log));
  for (const e of entries) timers.schedule(e, Date.now() + 10_000 + random() * 1000);
  timers.clear();
  assert.is(timers.size, 0);
  for (const e of entries) assert.is(e.heapIndex, -1);
});

test('with an injected clock: every entry fires exactly at its due time, and pacing holds to the millisecond', async () => {
  const clock = new ManualClock();
  const t0 = clock.now();
  const fired: Array<[string, number]> = [];
  const entry = (name: string): TimerEntry => ({
    heapIndex: -1,
    fire: () => {
      fired.push([name, clock.now() - t0]);
      return Promise.resolve();
    },
  });
  const timers = new RefreshTimers(Number.POSITIVE_INFINITY, 2_000, () => 0, clock);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(entry) as [TimerEntry, TimerEntry, TimerEntry, TimerEntry];
  timers.schedule(c, t0 + 250);
  timers.schedule(a, t0 + 100);
  timers.schedule(b, t0 + 250);
  timers.schedule(d, t0 + 400);
  timers.schedule(d, t0 + 300); // moved earlier
  clock.advance(99);
  assert.equal(fired, []);
  clock.advance(1);
  assert.equal(fired, [['a', 100]]);
  clock.advance(1_000);
  assert.equal(fired, [
    ['a', 100],
    ['c', 250],
    ['b', 250],
    ['d', 300],
  ]);

  // Paced: at most one start per 20 ms, whatever is due.
  const paced = new RefreshTimers(Number.POSITIVE_INFINITY, 2_000, () => 20, clock);
  const t1 = clock.now();
  fired.length = 0;
  const es = ['p', 'q', 'r'].map(entry);
  for (const e of es) paced.schedule(e, t1);
  for (let i = 0; i < 6; i++) {
    clock.advance(10);
    await Promise.resolve();
  }
  // Equal due times leave the order to the heap; the starts are exactly 20 ms apart.
  assert.equal(
    fired.map(([, at]) => at - (t1 - t0)),
    [0, 20, 40],
  );
  assert.equal(fired.map(([n]) => n).sort(), ['p', 'q', 'r']);
  timers.clear();
  paced.clear();
});

test.run();

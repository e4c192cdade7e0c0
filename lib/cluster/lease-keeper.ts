import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { SLOT_COUNT } from '../util/shard-of.js';
import { planSlots } from './balance.js';
import { ClusterKeys } from './keys.js';
import { ACQUIRE, LEAVE, RELEASE, RENEW, VIEW } from './lease-scripts.js';
import { LeaseTable } from './lease-table.js';
import { monoNow } from '../timing.js';
import { ScriptClient, runScript } from './script-client.js';

/** The keeper's time: monotonic for the leases (monoNow in the server), wall for heartbeats. */
export interface KeeperClock {
  mono(): number;
  wall(): number;
}

export const systemKeeperClock: KeeperClock = { mono: monoNow, wall: () => Date.now() };

/** What an instance says about itself in its heartbeat. */
export interface InstanceStats {
  apps: number;
  tasks: number;
}

/** A live instance as the cluster sees it (its last heartbeat). */
export interface InstanceInfo extends InstanceStats {
  id: string;
  /** Epoch milliseconds of its last heartbeat, by its own clock. */
  last_seen: number;
  /** Slots it held then. */
  slots: number;
}

export interface LeaseKeeperOptions {
  /** A client of its own (scripts only; no subscriptions on it). */
  redis: ScriptClient;
  keys: ClusterKeys;
  instanceId: string;
  /** Lease length; ≥ 1000. Renewed every third of it. */
  leaseMs: number;
  /** Written here, read by the shard threads; its margin should be a fifth of leaseMs. */
  table: LeaseTable;
  logger: Logger;
  clock?: KeeperClock;
  /** Start running the actors of these slots (the table already allows their calls). */
  gain(slots: number[]): Promise<void>;
  /** Stop the actors of these slots; resolve once they stopped and their calls in flight landed. */
  lose(slots: number[]): Promise<void>;
  /** How many apps a slot holds: what the balance evens out. */
  appsInSlot(slot: number): number;
  /** This instance's figures for its heartbeat. */
  stats(): InstanceStats;
}

/**
 * A hand-over whose lose() takes longer than this stops renewing its lease
 * and lets it run out: the slot is not blocked for good by stuck actors,
 * and the fence still refuses their late writes.
 */
const HAND_OVER_RENEW_MS = 60_000;

/** gaining: gain() running; held; releasing: lose() running, then the lease is deleted; lost: lose() running, lease gone. */
type SlotState = 'gaining' | 'held' | 'releasing' | 'lost';

interface Lease {
  slot: number;
  fence: number;
  value: string;
  validUntil: number;
  state: SlotState;
  /** When (mono) the hand-over began. */
  releasingSince: number;
  /** Settles when gain() for the slot did. */
  gained: Promise<void>;
}

interface View {
  /** Per slot the lease's value `<id>|<fence>`, or null. */
  values: (string | null)[];
  instances: InstanceInfo[];
}

export interface LeaseMetrics {
  /** Slots held now (calls allowed or not). */
  held: number;
  /** Leases taken. */
  acquired: number;
  /** Leases handed over on purpose. */
  released: number;
  /** Leases lost: taken by another instance or not confirmed in time. */
  losses: number;
}

/**
 * This instance's share of the cluster's slots: takes free leases (with a
 * new fence each), renews those it holds in one script every third of the
 * lease, hands slots over when the balance says so, and writes the shared
 * LeaseTable that the shard threads read before every WeChat call.
 *
 * A lease is valid until leaseMs after its renewal was *sent* (Redis
 * starts its expiry later), by the monotonic clock, so this instance's
 * belief always ends before Redis's. A renewal refused, or one not
 * confirmed before the lease runs out (Redis unreachable, a paused
 * process), clears the slot from the table at once and calls lose().
 */
export class LeaseKeeper {
  private readonly redis: ScriptClient;
  private readonly keys: ClusterKeys;
  private readonly id: string;
  private readonly leaseMs: number;
  private readonly table: LeaseTable;
  private readonly log: Logger;
  private readonly clock: KeeperClock;
  private readonly opts: LeaseKeeperOptions;
  private readonly leases = new Map<number, Lease>();
  /** Since when (mono) each slot has been seen without a lease. */
  private readonly freeSince = new Map<number, number>();
  private readonly pending = new Set<Promise<void>>();
  private view: View = { values: new Array<string | null>(SLOT_COUNT).fill(null), instances: [] };
  private counters = { acquired: 0, released: 0, losses: 0 };
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Bumped by start(): a round of an earlier run that ends after a restart schedules nothing. */
  private loop = 0;
  private round: Promise<void> | null = null;
  private redisError: string | null = null;
  /** Set while another live process runs with this instance id. */
  private duplicate: string | null = null;
  /** Whether a round has announced this instance alive yet. */
  private announced = false;
  /** This process's token on the alive key: tells it from another process with the same id. */
  private readonly runToken = randomUUID();
  private lastConfirmed: number;

  constructor(opts: LeaseKeeperOptions) {
    if (!Number.isInteger(opts.leaseMs) || opts.leaseMs < 1000)
      throw new RangeError(`the lease must be a whole number of milliseconds ≥ 1000, not ${opts.leaseMs}`);
    if (opts.instanceId === '') throw new RangeError('the instance id must not be empty');
    this.opts = opts;
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.id = opts.instanceId;
    this.leaseMs = opts.leaseMs;
    this.table = opts.table;
    this.log = opts.logger;
    this.clock = opts.clock ?? systemKeeperClock;
    this.lastConfirmed = this.clock.mono();
  }

  get instanceId(): string {
    return this.id;
  }

  /** How often the leases are renewed and the cluster looked at. */
  get intervalMs(): number {
    return Math.floor(this.leaseMs / 3);
  }

  /** Run a round now and then every third of the lease until stop() or close(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0, ++this.loop);
  }

  /** Stop the rounds, holding on to nothing and giving nothing back (what a crash or a pause looks like from outside). */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Leave the cluster: stop, hand every slot back (lose() first) and remove this instance's heartbeat. */
  async close(): Promise<void> {
    this.stop();
    await this.round;
    const mine = [...this.leases.values()].filter((l) => l.state === 'gaining' || l.state === 'held');
    if (mine.length > 0) this.release(mine);
    await this.settled();
    try {
      await this.call(LEAVE, [this.keys.alive(this.id), this.keys.instances], [this.id, this.runToken]);
    } catch (err) {
      this.log.warn({ err: message(err) }, 'could not remove this instance from the cluster; it expires by itself');
    }
  }

  /** Resolves once every lose() and hand-over under way finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** One round: renew, look at the cluster, take and hand over slots. Rounds never overlap. */
  async tick(): Promise<void> {
    while (this.round) await this.round;
    this.round = this.runRound().finally(() => (this.round = null));
    await this.round;
  }

  /** Who holds the slot's lease, as of the last round (this instance: as of now). */
  ownerOf(slot: number): string | null {
    const mine = this.leases.get(slot);
    if (mine && (mine.state === 'gaining' || mine.state === 'held')) return this.id;
    const value = this.view.values[slot] ?? null;
    const holder = value === null ? null : holderOf(value);
    return holder === this.id ? null : holder;
  }

  /** The live instances as of the last round. */
  instances(): InstanceInfo[] {
    return this.view.instances.map((i) => ({ ...i }));
  }

  /** Slots whose actors run here (gaining or held). */
  heldCount(): number {
    let n = 0;
    for (const l of this.leases.values()) if (l.state === 'gaining' || l.state === 'held') n++;
    return n;
  }

  metrics(): LeaseMetrics {
    return { held: this.heldCount(), ...this.counters };
  }

  /** Why this instance cannot vouch for its leases now, or null. */
  degraded(): string | null {
    if (this.duplicate !== null) return this.duplicate;
    if (this.redisError !== null)
      return `Redis cannot be reached (${this.redisError}); leases are not renewed and WeChat calls stop once they run out`;
    const age = this.clock.mono() - this.lastConfirmed;
    if (this.leases.size > 0 && age > 2 * this.intervalMs)
      return `leases have not been confirmed by Redis for ${Math.round(age)} ms; WeChat calls stop once they run out`;
    return null;
  }

  private schedule(delay: number, loop: number): void {
    if (!this.running || loop !== this.loop) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const started = Date.now();
      this.tick().then(
        () => this.schedule(Math.max(0, this.intervalMs - (Date.now() - started)), loop),
        (err: unknown) => {
          this.log.error({ err: message(err) }, 'lease round failed');
          this.schedule(this.intervalMs, loop);
        },
      );
    }, delay);
  }

  private async runRound(): Promise<void> {
    this.expire(this.clock.mono());
    if (!(await this.renew())) return;
    let view: View;
    try {
      view = await this.readView();
    } catch (err) {
      this.failed(err);
      return;
    }
    this.view = view;
    // The first round only announces this instance: instances started together then see each other before
    // taking slots, instead of the first taking all and handing most of them back.
    const first = !this.announced;
    this.announced = true;
    await this.act(view, !first);
  }

  /** Leases whose validity ran out unconfirmed are lost, whatever Redis may still say. */
  private expire(now: number): void {
    const out = [...this.leases.values()].filter((l) => l.state !== 'lost' && l.validUntil <= now);
    if (out.length > 0) this.lost(out, 'its lease ran out before Redis confirmed it');
  }

  /** Renew every lease still ours; false when Redis could not be asked. */
  private async renew(): Promise<boolean> {
    const sentAt = this.clock.mono();
    const renewing = [...this.leases.values()].filter(
      (l) => l.state !== 'lost' && !(l.state === 'releasing' && sentAt - l.releasingSince > HAND_OVER_RENEW_MS),
    );
    const heartbeat = JSON.stringify({ last_seen: this.clock.wall(), ...this.stats(), slots: this.heldCount() });
    let answer: unknown;
    try {
      answer = await this.call(
        RENEW,
        [this.keys.alive(this.id), this.keys.instances, ...renewing.map((l) => this.keys.lease(l.slot))],
        [String(this.leaseMs), this.id, heartbeat, this.runToken, ...renewing.map((l) => l.value)],
      );
    } catch (err) {
      this.failed(err);
      return false;
    }
    if (Array.isArray(answer) && answer.length === 1 && Number(answer[0]) === -1) {
      if (this.duplicate === null)
        this.log.error({ instanceId: this.id }, 'another live process runs with this instance id; taking no slots');
      this.duplicate = `another live instance runs with the id "${this.id}"; this one takes no slots until it is gone (give each instance its own --instance-id)`;
      this.lost(renewing, 'another process runs with this instance id');
      return false;
    }
    this.duplicate = null;
    const flags = numbers(answer, renewing.length);
    const refused: Lease[] = [];
    renewing.forEach((l, i) => {
      if (flags[i] === 1) {
        if (this.leases.get(l.slot) !== l || l.state === 'lost') return;
        l.validUntil = sentAt + this.leaseMs;
        if (l.state === 'gaining' || l.state === 'held') this.table.set(l.slot, l.fence, l.validUntil);
      } else refused.push(l);
    });
    if (refused.length > 0) this.lost(refused, 'another instance holds its lease, or it ran out in Redis');
    this.lastConfirmed = sentAt;
    if (this.redisError !== null) this.log.info('Redis answers again; leases are renewed');
    this.redisError = null;
    return true;
  }

  private async readView(): Promise<View> {
    const leaseKeys = Array.from({ length: SLOT_COUNT }, (_, s) => this.keys.lease(s));
    const answer = await this.call(VIEW, [this.keys.instances, ...leaseKeys], [this.keys.alive('')]);
    if (!Array.isArray(answer) || answer.length !== 2) throw new Error('the cluster view script answered oddly');
    const [rawValues, rawLive] = answer as [unknown, unknown];
    if (!Array.isArray(rawValues) || rawValues.length !== SLOT_COUNT || !Array.isArray(rawLive))
      throw new Error('the cluster view script answered oddly');
    const values = rawValues.map((v) => (typeof v === 'string' ? v : null));
    const instances: InstanceInfo[] = [];
    for (let i = 0; i + 1 < rawLive.length; i += 2) {
      const id: unknown = rawLive[i];
      const info = parseHeartbeat(rawLive[i + 1]);
      if (typeof id !== 'string') continue;
      instances.push({ id, ...(info ?? { apps: 0, tasks: 0, last_seen: 0, slots: 0 }) });
    }
    instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { values, instances };
  }

  /** Take the free slots the plan gives this instance, hand over those it gives another, clear leftovers of ours. */
  private async act(view: View, mayTake: boolean): Promise<void> {
    const now = this.clock.mono();
    const owners = view.values.map((v) => (v === null ? null : holderOf(v)));
    const alive = view.instances.map((i) => i.id);
    if (!alive.includes(this.id)) alive.push(this.id);
    const plan = planSlots({ instances: alive, owners, appsInSlot: (s) => this.opts.appsInSlot(s) });

    const take: number[] = [];
    const orphans: { slot: number; value: string }[] = [];
    const handOver: Lease[] = [];
    for (let s = 0; s < SLOT_COUNT; s++) {
      const value = view.values[s] ?? null;
      const mine = this.leases.get(s);
      if (value === null) {
        if (!this.freeSince.has(s)) this.freeSince.set(s, now);
      } else this.freeSince.delete(s);
      if (mine) {
        if (mine.state === 'held' && plan[s] !== this.id && plan[s] !== null) handOver.push(mine);
        continue;
      }
      if (value === null) {
        // A slot left free for a whole lease is taken by anyone, whatever the plans say.
        const since = this.freeSince.get(s) ?? now;
        if (plan[s] === this.id || now - since >= this.leaseMs) take.push(s);
      } else if (owners[s] === this.id) orphans.push({ slot: s, value });
    }
    if (orphans.length > 0) await this.deleteLeases(orphans, 'leases of an earlier run of this instance');
    if (handOver.length > 0) this.release(handOver);
    if (take.length > 0 && mayTake) await this.acquire(take);
  }

  private async acquire(free: number[]): Promise<void> {
    const sentAt = this.clock.mono();
    let answer: unknown;
    try {
      answer = await this.call(
        ACQUIRE,
        free.flatMap((s) => [this.keys.lease(s), this.keys.fence(s)]),
        [this.id, String(this.leaseMs)],
      );
    } catch (err) {
      this.failed(err);
      return;
    }
    const fences = numbers(answer, free.length);
    const gained: Lease[] = [];
    free.forEach((slot, i) => {
      const fence = fences[i] ?? 0;
      if (fence <= 0) return;
      const lease: Lease = {
        slot,
        fence,
        value: `${this.id}|${fence}`,
        validUntil: sentAt + this.leaseMs,
        state: 'gaining',
        releasingSince: 0,
        gained: Promise.resolve(),
      };
      this.leases.set(slot, lease);
      this.freeSince.delete(slot);
      this.table.set(slot, fence, lease.validUntil);
      gained.push(lease);
    });
    if (gained.length === 0) return;
    this.counters.acquired += gained.length;
    this.log.info({ slots: gained.map((l) => l.slot) }, 'took slot leases');
    const slots = gained.map((l) => l.slot);
    // Through a promise even if gain() throws at once: the slots must still be handed back.
    const done = Promise.resolve()
      .then(() => this.opts.gain(slots))
      .then(
        () => {
          for (const l of gained) if (l.state === 'gaining') l.state = 'held';
        },
        (err: unknown) => {
          this.log.error(
            { err: message(err), slots: gained.length },
            'could not start the slots taken; handing them back',
          );
          const still = gained.filter((l) => l.state === 'gaining' && this.leases.get(l.slot) === l);
          for (const l of still) l.state = 'held';
          if (still.length > 0) this.release(still);
        },
      );
    for (const l of gained) l.gained = done;
    this.track(done);
  }

  /** Hand slots over: no new calls, lose() (their actors stop, calls in flight land), then delete the leases. */
  private release(leases: Lease[]): void {
    const now = this.clock.mono();
    for (const l of leases) {
      l.state = 'releasing';
      l.releasingSince = now;
      this.table.clear(l.slot);
    }
    this.track(
      this.afterLose(leases).then(async () => {
        const ours = leases.filter((l) => l.state === 'releasing' && this.leases.get(l.slot) === l);
        await this.deleteLeases(ours, 'slots handed over');
        for (const l of ours) if (this.leases.get(l.slot) === l) this.leases.delete(l.slot);
        this.counters.released += ours.length;
        // A lease lost while being handed over is cleaned up here too.
        for (const l of leases) if (l.state === 'lost' && this.leases.get(l.slot) === l) this.leases.delete(l.slot);
      }),
    );
  }

  /** Leases this instance can no longer vouch for: out of the table now, then lose(). */
  private lost(leases: Lease[], why: string): void {
    const fresh: Lease[] = [];
    let count = 0;
    for (const l of leases) {
      if (l.state === 'lost') continue;
      this.table.clear(l.slot);
      // A hand-over under way already runs lose() for its slots.
      if (l.state !== 'releasing') fresh.push(l);
      l.state = 'lost';
      count++;
    }
    if (count === 0) return;
    this.counters.losses += count;
    this.log.warn({ slots: count, why }, 'lost slot leases; their WeChat calls stop');
    if (fresh.length === 0) return;
    this.track(
      this.afterLose(fresh).then(async () => {
        // Still ours in Redis (it was only unconfirmed): give it back rather than block the slot until it expires.
        await this.deleteLeases(fresh, 'leases no longer vouched for');
        for (const l of fresh) if (this.leases.get(l.slot) === l) this.leases.delete(l.slot);
      }),
    );
  }

  /** lose() once gain() of the same slots settled, so a slot is never started and stopped at once. */
  private async afterLose(leases: Lease[]): Promise<void> {
    await Promise.allSettled(leases.map((l) => l.gained));
    try {
      await this.opts.lose(leases.map((l) => l.slot));
    } catch (err) {
      this.log.error({ err: message(err), slots: leases.length }, 'stopping the actors of lost slots failed');
    }
  }

  /** Compare-and-delete; a failure only leaves the leases to expire. */
  private async deleteLeases(leases: { slot: number; value: string }[], what: string): Promise<void> {
    if (leases.length === 0) return;
    try {
      await this.call(
        RELEASE,
        leases.map((l) => this.keys.lease(l.slot)),
        leases.map((l) => l.value),
      );
    } catch (err) {
      this.log.warn({ err: message(err), slots: leases.length }, `could not delete ${what}; they expire by themselves`);
    }
  }

  /** The heartbeat's figures; a failing stats() must not stop the renewals. */
  private stats(): InstanceStats {
    try {
      return this.opts.stats();
    } catch (err) {
      this.log.warn({ err: message(err) }, 'instance stats failed; the heartbeat says 0');
      return { apps: 0, tasks: 0 };
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private failed(err: unknown): void {
    const text = message(err);
    if (this.redisError === null) this.log.warn({ err: text }, 'Redis cannot be reached; leases are not renewed');
    this.redisError = text;
  }

  /** A script call that gives up after half a lease: an answer later than that is of no use. */
  private call(script: string, keys: string[], args: string[]): Promise<unknown> {
    return runScript(this.redis, script, keys, args, Math.floor(this.leaseMs / 2));
  }
}

/** The instance id of a lease value `<id>|<fence>`. */
export function holderOf(value: string): string {
  const bar = value.lastIndexOf('|');
  return bar < 0 ? value : value.slice(0, bar);
}

function parseHeartbeat(raw: unknown): Omit<InstanceInfo, 'id'> | null {
  if (typeof raw !== 'string') return null;
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
    return { last_seen: n(v.last_seen), apps: n(v.apps), tasks: n(v.tasks), slots: n(v.slots) };
  } catch {
    return null;
  }
}

function numbers(answer: unknown, length: number): number[] {
  if (!Array.isArray(answer) || answer.length !== length) throw new Error('a lease script answered oddly');
  return answer.map((x) => Number(x));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

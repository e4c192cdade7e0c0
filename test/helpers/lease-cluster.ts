// Several lease keepers in one test process, each with its own Redis
// client, lease table and records of what it was told to start and stop,
// plus a watch that no slot is ever callable on two of them at once.
import { createClient } from 'redis';
import { clusterKeys, ClusterKeys } from '../../lib/cluster/keys.js';
import { KeeperClock, LeaseKeeper } from '../../lib/cluster/lease-keeper.js';
import { LeaseTable } from '../../lib/cluster/lease-table.js';
import { monoNow } from '../../lib/timing.js';
import { createLogger } from '../../lib/log.js';
import { SLOT_COUNT, slotOf } from '../../lib/util/shard-of.js';
import { sleep } from './poll.js';
import { PlainRedis } from './redis.js';
import { at } from './must.js';

export interface Member {
  id: string;
  keeper: LeaseKeeper;
  table: LeaseTable;
  client: PlainRedis;
  clock: KeeperClock & { offset: number };
  /** Every slot passed to gain() / lose(), in order. */
  gained: number[];
  lost: number[];
  /** Runs inside gain(), before it resolves (a test's check at the moment of taking over). */
  onGain?: (slots: number[]) => void;
  /** gain() throws this, once, when set. */
  failGain?: Error;
}

export class LeaseCluster {
  readonly keys: ClusterKeys;
  readonly members: Member[] = [];
  readonly violations: string[] = [];
  private readonly counts = new Array<number>(SLOT_COUNT).fill(0);
  private watch: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    prefix: string,
    readonly leaseMs: number,
    appids: string[],
  ) {
    this.keys = clusterKeys(prefix);
    this.setApps(appids);
  }

  setApps(appids: string[]): void {
    this.counts.fill(0);
    for (const a of appids) this.counts[slotOf(a)] = at(this.counts, slotOf(a)) + 1;
  }

  get totalApps(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  appsInSlot = (slot: number): number => this.counts[slot] ?? 0;

  /** A keeper (not started). Its clock is the process's monotonic one shifted by `offset`. */
  async add(id: string): Promise<Member> {
    const client: PlainRedis = createClient({ url: this.url });
    client.on('error', () => undefined);
    await client.connect();
    const table = new LeaseTable(undefined, this.leaseMs);
    const clock = { offset: 0, mono: () => monoNow() + clock.offset, wall: () => Date.now() };
    const gained: number[] = [];
    const lost: number[] = [];
    // The member is made after its keeper, whose gain() calls the member's hook.
    const self: { m?: Member } = {};
    const keeper = new LeaseKeeper({
      redis: client,
      keys: this.keys,
      instanceId: id,
      leaseMs: this.leaseMs,
      table,
      clock,
      logger: createLogger('silent'),
      gain: (slots) => {
        const failure = self.m?.failGain;
        if (self.m && failure) {
          self.m.failGain = undefined;
          // Thrown, not rejected: the keeper must cope with a gain() that fails before it returns a promise.
          throw failure;
        }
        gained.push(...slots);
        self.m?.onGain?.(slots);
        return Promise.resolve();
      },
      // Stopping takes a moment, as actors with a fetch in flight would.
      lose: async (slots) => {
        await sleep(30);
        lost.push(...slots);
      },
      appsInSlot: this.appsInSlot,
      stats: () => ({ apps: this.appsIn(table), tasks: 0 }),
    });
    const m: Member = { id, keeper, table, client, clock, gained, lost };
    self.m = m;
    this.members.push(m);
    return m;
  }

  /** Apps in the slots `m` may call for now. */
  appsOf(m: Member): number {
    return this.appsIn(m.table);
  }

  private appsIn(table: LeaseTable): number {
    return table.heldSlots().reduce((n, s) => n + this.appsInSlot(s), 0);
  }

  /** Check every few milliseconds that no slot is callable on two members at once. */
  startWatch(): void {
    this.watch = setInterval(() => {
      for (let s = 0; s < SLOT_COUNT; s++) {
        const callable = this.members.filter((m) => m.table.slotCallFence(s, m.clock.mono()) !== null);
        if (callable.length > 1)
          this.violations.push(`slot ${s} callable on ${callable.map((m) => m.id).join(' and ')}`);
      }
    }, 5);
  }

  /**
   * Null when the members listed hold every slot between them, each slot
   * once, with apps and slots each within 0.5–1.5 × the fair share;
   * otherwise why not.
   */
  unbalanced(members: Member[]): string | null {
    const holders = new Array<number>(SLOT_COUNT).fill(0);
    for (const m of members) for (const s of m.table.heldSlots()) holders[s] = at(holders, s) + 1;
    const missing = holders.filter((n) => n !== 1).length;
    if (missing > 0) return `${missing} slots not held exactly once`;
    const fairApps = this.totalApps / members.length;
    const fairSlots = SLOT_COUNT / members.length;
    for (const m of members) {
      const apps = this.appsOf(m);
      const slots = m.table.heldSlots().length;
      if (apps < 0.5 * fairApps || apps > 1.5 * fairApps) return `${m.id} has ${apps} apps of ${this.totalApps}`;
      if (slots < 0.5 * fairSlots || slots > 1.5 * fairSlots) return `${m.id} has ${slots} slots`;
    }
    return null;
  }

  /** Slots whose lease value and fence in Redis disagree with the member whose table holds them. */
  async mismatches(members: Member[]): Promise<string[]> {
    const c = members[0]?.client;
    if (!c) return [];
    const slots = Array.from({ length: SLOT_COUNT }, (_, s) => s);
    const leases = await c.mGet(slots.map((s) => this.keys.lease(s)));
    const fences = await c.mGet(slots.map((s) => this.keys.fence(s)));
    const out: string[] = [];
    for (const m of members)
      for (const s of m.table.heldSlots()) {
        const fence = m.table.held(s);
        if (leases[s] !== `${m.id}|${fence}`)
          out.push(`slot ${s}: ${m.id} holds fence ${fence}, lease is ${leases[s]}`);
        if (fences[s] !== String(fence)) out.push(`slot ${s}: ${m.id} holds fence ${fence}, fence is ${fences[s]}`);
      }
    return out;
  }

  async stop(): Promise<void> {
    if (this.watch) clearInterval(this.watch);
    for (const m of this.members) m.keeper.stop();
    for (const m of this.members) await m.keeper.settled();
    for (const m of this.members) await m.client.close().catch(() => undefined);
  }
}

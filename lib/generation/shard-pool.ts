import { MessageChannel, MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import {
  HeapBytes,
  RegisterResult,
  ShardCommand,
  ShardEvent,
  ShardReply,
  ShardSettings,
} from '../contract/messages.js';
import { ValidRegistration } from '../contract/registration.js';
import { Logger } from '../log.js';
import { releaseBoundMs } from '../process/ipc.js';
import { shardOf } from '../util/shard-of.js';
import { Ownership } from './ownership.js';
import { ShardTimeout } from '../contract/errors.js';
import { backoffMs } from '../timing.js';

/** The shard worker entry beside this build (.js), or beside the source under tsx (.ts). */
function workerFile(): string {
  const self = new URL(import.meta.url);
  const ext = self.pathname.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`../../workers/shard-worker.${ext}`, self).pathname;
}

const COMMAND_TIMEOUT_MS = 60_000;
const RESTART_MIN_MS = 200;
const RESTART_MAX_MS = 30_000;
/** The longest a registration waits in the front for the shard's previous batch to be answered. */
const REGISTER_WINDOW_MS = 5;

function allOk(what: string, replies: ShardReply[]): void {
  const failed = replies.map((r, shard) => ({ r, shard })).filter(({ r }) => r.kind === 'error');
  if (failed.length > 0)
    throw new Error(
      `${what} failed on shard ${failed.map(({ r, shard }) => `${shard}: ${r.kind === 'error' ? r.message : ''}`).join('; ')}`,
    );
}

interface ShardSlot {
  index: number;
  pool: Piscina<ShardCommand, ShardReply>;
  /** Grows with every (re)initialisation; events from older channels are ignored. */
  epoch: number;
  restarts: number;
  lastStart: number;
  /** Registrations since the last flush; sent as one command (see register). */
  pendingRegs: Array<{ reg: ValidRegistration; done: (r: RegisterResult) => void }>;
  /** Register commands sent and not answered yet. */
  regsInFlight: number;
  /** Sends the pending registrations should the batch in flight take longer than REGISTER_WINDOW_MS. */
  regsTimer: NodeJS.Timeout | undefined;
}

/**
 * One single-thread piscina pool per shard; appids map to shards by a
 * stable hash. A shard thread that dies is re-initialised from the store
 * (piscina itself would respawn it empty) with a growing back-off.
 */
export class ShardPool {
  private readonly slots: ShardSlot[];
  private closing = false;

  constructor(
    private readonly base: Omit<ShardSettings, 'shardIndex' | 'shardCount'>,
    count: number,
    private readonly ownership: Ownership,
    private readonly onEvent: (ev: ShardEvent) => void,
    private readonly onRestart: (shard: number) => void,
    private readonly log: Logger,
    /** Heap limit per shard thread (MB): a shard over it dies alone and is restored, not the whole process. */
    heapMb?: number,
  ) {
    this.slots = Array.from({ length: count }, (_, index) => {
      const pool = new Piscina<ShardCommand, ShardReply>({
        filename: workerFile(),
        minThreads: 1,
        maxThreads: 1,
        // 'sync' would park the thread between tasks and stop its timers.
        atomics: 'disabled',
        idleTimeout: Number.MAX_SAFE_INTEGER,
        // Commands are async and long-lived (a forced refresh awaits WeChat): let them overlap.
        concurrentTasksPerWorker: 10_000,
        maxQueue: 100_000,
        ...(heapMb ? { resourceLimits: { maxOldGenerationSizeMb: heapMb } } : {}),
      });
      const slot: ShardSlot = {
        index,
        pool,
        epoch: 0,
        restarts: 0,
        lastStart: 0,
        pendingRegs: [],
        regsInFlight: 0,
        regsTimer: undefined,
      };
      // Without a listener an uncaught error in the thread would kill the whole process.
      pool.on('error', (err: Error) => this.log.error({ shard: index, err: err.message }, 'shard thread failed'));
      return slot;
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.init(s)));
  }

  shardFor(appid: string): number {
    return shardOf(appid, this.slots.length);
  }

  private slotFor(appid: string): ShardSlot {
    const slot = this.slots[this.shardFor(appid)];
    if (!slot) throw new Error(`no shard thread for ${appid}: the pool is not started`);
    return slot;
  }

  /** Send a command to the shard owning `appid`. */
  send(appid: string, cmd: ShardCommand, timeoutMs = COMMAND_TIMEOUT_MS): Promise<ShardReply> {
    return this.run(this.slotFor(appid), cmd, timeoutMs);
  }

  /**
   * Hand a registration to the owning shard, which writes and applies it.
   * Registrations become one command per shard, as a group commit does:
   * with no batch of the shard in flight, those of this turn go out in a
   * microtask; while one is in flight, the next collects until it is
   * answered (or REGISTER_WINDOW_MS passed). Under load a round trip to
   * the thread, a transaction and a reply then serve hundreds of
   * registrations instead of a few. Any other command to the shard flushes
   * the batch first (run), keeping the order per shard.
   */
  register(reg: ValidRegistration): Promise<RegisterResult> {
    const slot = this.slotFor(reg.appid);
    return new Promise((done) => {
      if (slot.pendingRegs.push({ reg, done }) !== 1) return;
      if (slot.regsInFlight === 0) setImmediate(() => this.flushRegistrations(slot));
      else slot.regsTimer = setTimeout(() => this.flushRegistrations(slot), REGISTER_WINDOW_MS);
    });
  }

  private flushRegistrations(slot: ShardSlot): void {
    clearTimeout(slot.regsTimer);
    slot.regsTimer = undefined;
    if (slot.pendingRegs.length === 0) return;
    const batch = slot.pendingRegs;
    slot.pendingRegs = [];
    slot.regsInFlight++;
    void this.run(slot, { kind: 'register', regs: batch.map((b) => b.reg), at: Date.now() }, COMMAND_TIMEOUT_MS).then(
      (reply) => {
        // The next batch goes to the thread before these answers are written.
        if (--slot.regsInFlight === 0) this.flushRegistrations(slot);
        batch.forEach((b, i) => {
          if (reply.kind === 'registered')
            b.done(
              reply.results[i] ?? {
                ok: false,
                reason: 'failed',
                message: 'The shard gave no answer for this registration.',
              },
            );
          else
            b.done({
              ok: false,
              reason: reply.kind === 'error' ? reply.reason : 'failed',
              message: reply.kind === 'error' ? reply.message : `unexpected reply ${reply.kind}`,
            });
        });
      },
    );
  }

  async broadcast(cmd: ShardCommand, timeoutMs = COMMAND_TIMEOUT_MS): Promise<ShardReply[]> {
    return Promise.all(this.slots.map((s) => this.run(s, cmd, timeoutMs)));
  }

  /** Each shard thread's heap, null for one that did not answer within a second (restarting, busy). */
  async heaps(): Promise<Array<HeapBytes | null>> {
    return (await this.broadcast({ kind: 'heap' }, 1_000)).map((r) => (r.kind === 'heap' ? r.heap : null));
  }

  /** Own the apps: every shard loads its apps from the store. Throws unless all did. */
  async activate(): Promise<void> {
    allOk('activate', await this.broadcast({ kind: 'activate' }));
  }

  /** Give the apps up; resolves once every shard's fetches in flight have landed. Throws unless all did. */
  async release(): Promise<void> {
    allOk('release', await this.broadcast({ kind: 'release' }, releaseBoundMs(this.base)));
  }

  /** Let fetches in flight land (for up to `timeoutMs`), then end the threads. */
  async close(timeoutMs = 20_000): Promise<void> {
    this.closing = true;
    await Promise.allSettled(this.slots.map((s) => this.run(s, { kind: 'release' }, timeoutMs)));
    await Promise.allSettled(this.slots.map((s) => s.pool.destroy()));
  }

  private run(
    slot: ShardSlot,
    cmd: ShardCommand,
    timeoutMs: number,
    transferList?: MessagePort[],
  ): Promise<ShardReply> {
    if (this.closing && cmd.kind !== 'release') {
      // piscina would quietly start a fresh thread for a run() after destroy().
      return Promise.resolve({ kind: 'error', reason: 'unavailable', message: 'The server is shutting down.' });
    }
    // Registrations queued for this shard go first: commands to one shard keep their order.
    if (cmd.kind !== 'register') this.flushRegistrations(slot);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ShardTimeout(`shard ${slot.index} did not answer ${cmd.kind} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    // A race rather than an AbortSignal: aborting a running piscina task terminates its thread.
    return (
      Promise.race([slot.pool.run(cmd, transferList ? { transferList } : undefined), timeout])
        // A thread that died under the command (or hangs) is an answer too, never an exception
        // that could end the front process: the shard is being restored meanwhile.
        .catch((err: Error): ShardReply => {
          // A thread that dies with a command in flight reports to that command, not to the pool's
          // 'error' event: log it here, or the reason (e.g. out of memory) would be lost.
          if (!(err instanceof ShardTimeout) && !this.closing)
            this.log.error({ shard: slot.index, command: cmd.kind, err: err.message }, 'shard command failed');
          return {
            kind: 'error',
            reason: 'unavailable',
            message: `Shard ${slot.index} is restarting (${err.message}); try again shortly.`,
          };
        })
        .finally(() => clearTimeout(timer))
    );
  }

  private async init(slot: ShardSlot): Promise<void> {
    const epoch = ++slot.epoch;
    slot.lastStart = Date.now();
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (ev: ShardEvent) => {
      if (slot.epoch === epoch) this.onEvent(ev);
    });
    // The thread's end of the channel closes when the thread dies: restore it.
    port1.on('close', () => {
      if (this.closing || slot.epoch !== epoch) return;
      this.scheduleRestart(slot);
    });
    const settings: ShardSettings = { ...this.base, shardIndex: slot.index, shardCount: this.slots.length };
    const reply = await this.run(
      slot,
      { kind: 'init', settings, events: port2, owns: this.ownership.slotsToLoad() },
      COMMAND_TIMEOUT_MS,
      [port2],
    );
    if (reply.kind === 'error') throw new Error(`shard ${slot.index} failed to start: ${reply.message}`);
    // Unref so that an idle channel never keeps a stopping process alive.
    port1.unref();
  }

  private scheduleRestart(slot: ShardSlot): void {
    // Back off when a shard keeps dying; forget old crashes after a quiet minute.
    if (Date.now() - slot.lastStart > 60_000) slot.restarts = 0;
    slot.restarts++;
    const delay = backoffMs(slot.restarts, RESTART_MAX_MS, RESTART_MIN_MS);
    this.log.warn(
      { shard: slot.index, inMs: delay, restarts: slot.restarts },
      'shard thread died; restoring it from the store',
    );
    setTimeout(() => {
      if (this.closing) return;
      this.init(slot)
        .then(() => {
          this.log.info({ shard: slot.index }, 'shard thread restored');
          this.onRestart(slot.index);
        })
        .catch((err: Error) => {
          this.log.error({ shard: slot.index, err: err.message }, 'shard restore failed');
          this.scheduleRestart(slot);
        });
    }, delay);
  }
}

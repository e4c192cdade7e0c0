import { AppChange, ShardCommand, ShardReply } from '../contract/messages.js';
import { SupervisorChannel } from '../process/ipc.js';
import { ShardPool } from './shard-pool.js';

/**
 * How a front reaches the actor that owns an app. In the owning generation
 * that is its own shard; in a generation handing over (or taking over) it
 * is the owning generation, reached through the supervisor.
 */
export interface OwnerLink {
  send(appid: string, cmd: ShardCommand): Promise<ShardReply>;
  /**
   * Tell the owner that `appid` changed in the store, without waiting for it
   * (the change is durable already). `change`: what the store now holds of
   * a newly created app, which spares a local owner reading it back (see
   * AppChange). False when no owner can be reached now.
   */
  reload(appid: string, change?: AppChange): boolean;
}

const FORWARD_TIMEOUT_MS = 60_000;

/** This generation's link: local shards while it owns the apps, the supervisor otherwise. */
export class GenerationOwnerLink implements OwnerLink {
  owning: boolean;
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: ShardReply) => void>();

  constructor(private readonly pool: ShardPool, owning: boolean, private readonly supervisor: SupervisorChannel | undefined) {
    this.owning = owning;
  }

  reload(appid: string, change?: AppChange): boolean {
    if (this.owning) {
      // Batched per shard; the pool logs a failed batch.
      this.pool.reloadSoon(appid, change);
      return true;
    }
    if (!this.supervisor) return false;
    // Another generation owns the app (or is about to): it reads the store, the one truth across generations.
    this.supervisor.send({ t: 'owner-command', id: ++this.nextId, appid, cmd: { kind: 'reload', appid } });
    return true;
  }

  send(appid: string, cmd: ShardCommand): Promise<ShardReply> {
    if (this.owning) return this.pool.send(appid, cmd);
    const supervisor = this.supervisor;
    // Without a supervisor nobody else can own the apps: only a stopping generation gets here.
    if (!supervisor) return Promise.resolve({ kind: 'error', reason: 'unavailable', message: 'The server is shutting down; try again shortly.' });
    const id = ++this.nextId;
    if (cmd.kind === 'reload') {
      // A reload only tells the owner to look at the store, where the change already is.
      // The supervisor queues it while ownership moves; nobody needs to wait for it, so a
      // registration during a hand-over is answered at once instead of after the hand-over.
      supervisor.send({ t: 'owner-command', id, appid, cmd });
      return Promise.resolve({ kind: 'ok' });
    }
    return new Promise<ShardReply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ kind: 'error', reason: 'unavailable', message: 'The owner of this app did not answer in time; try again.' });
      }, FORWARD_TIMEOUT_MS);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      supervisor.send({ t: 'owner-command', id, appid, cmd });
    });
  }

  /** The answer to a command forwarded earlier. */
  settle(id: number, reply: ShardReply): void {
    const done = this.waiting.get(id);
    this.waiting.delete(id);
    done?.(reply);
  }
}

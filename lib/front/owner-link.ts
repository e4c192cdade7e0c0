import { RegisterResult, ShardCommand, ShardReply } from '../contract/messages.js';
import { ValidRegistration } from '../contract/registration.js';
import { SupervisorChannel } from '../process/ipc.js';
import { Ownership } from './ownership.js';
import { ShardPool } from './shard-pool.js';
import { Store } from '../store/store.js';

/**
 * How a front reaches the actor that owns an app. In the owning generation
 * that is its own shard; in a generation handing over (or taking over) it
 * is the owning generation, reached through the supervisor, which holds the
 * command while ownership moves.
 */
export interface OwnerLink {
  send(appid: string, cmd: ShardCommand): Promise<ShardReply>;
  /** Have the owner write and apply a registration; resolves once durable. */
  register(reg: ValidRegistration): Promise<RegisterResult>;
}

const FORWARD_TIMEOUT_MS = 60_000;

/** This generation's link: local shards while it owns the apps, the supervisor otherwise. */
export class GenerationOwnerLink implements OwnerLink {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: ShardReply) => void>();

  constructor(
    private readonly pool: ShardPool,
    private readonly ownership: Ownership,
    private readonly supervisor: SupervisorChannel | undefined,
    private readonly store: Store,
  ) {}

  async register(reg: ValidRegistration): Promise<RegisterResult> {
    if (this.ownership.owns(reg.appid)) return this.pool.register(reg);
    const supervisor = this.supervisor;
    if (!supervisor)
      return { ok: false, reason: 'unavailable', message: 'The server is shutting down; try again shortly.' };
    // While ownership moves, the next owner is not active until the old one's fetches landed
    // (seconds): the registration is made durable here at once, and the owner applies it again
    // (an upsert of the same registration) once the supervisor hands it the command.
    const at = Date.now();
    let created: boolean;
    try {
      created = await this.store.register(reg, at);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return {
        ok: false,
        reason: 'unavailable',
        message: `The store could not write the registration (${message}); try again.`,
      };
    }
    supervisor.send({
      t: 'owner-command',
      id: ++this.nextId,
      appid: reg.appid,
      cmd: { kind: 'register', regs: [reg], at },
    });
    return { ok: true, created, tasks: [] };
  }

  send(appid: string, cmd: ShardCommand): Promise<ShardReply> {
    if (this.ownership.owns(appid)) return this.pool.send(appid, cmd);
    const supervisor = this.supervisor;
    // Without a supervisor nobody else can own the apps: only a stopping generation gets here.
    if (!supervisor)
      return Promise.resolve({
        kind: 'error',
        reason: 'unavailable',
        message: 'The server is shutting down; try again shortly.',
      });
    const id = ++this.nextId;
    return new Promise<ShardReply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({
          kind: 'error',
          reason: 'unavailable',
          message: 'The owner of this app did not answer in time; try again.',
        });
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

import { RegisterResult, ShardCommand, ShardReply } from '../contract/messages.js';
import { ValidRegistration } from '../contract/registration.js';
import { SupervisorChannel } from '../process/ipc.js';
import { Ownership } from './ownership.js';
import { ShardPool } from './shard-pool.js';
import { Store } from '../store/store.js';
import { TaskRow } from '../store/rows.js';
import { TaskKey } from '../contract/task-type.js';

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

/** How a front in cluster mode reaches the owners of apps on other instances. */
export interface ClusterRoute {
  readonly self: string;
  /** The instance that owns the app now, or null while nobody does (a failover). */
  ownerOf(appid: string): string | null;
  /** Have another instance's owner run a command (refresh, component events, clear-quota). */
  ask(instance: string, appid: string, cmd: ShardCommand): Promise<ShardReply>;
  /** The app's tasks as the shared store holds them (no secrets), for this front's cache. */
  tasksOf(appid: string): Promise<TaskRow[]>;
}

const unavailable = (message: string): ShardReply => ({ kind: 'error', reason: 'unavailable', message });

/** What the store said, as the owner's answer would have said it. */
function storeFailure(err: unknown, what: string): { ok: false; reason: 'unavailable'; message: string } {
  const why = err instanceof Error ? err.message : String(err);
  return { ok: false, reason: 'unavailable', message: `The store could not write the ${what} (${why}); try again.` };
}

/** This generation's link: local shards while it owns the apps, the supervisor otherwise. */
export class GenerationOwnerLink implements OwnerLink {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: ShardReply) => void>();

  constructor(
    private readonly pool: ShardPool,
    private readonly ownership: Ownership,
    private readonly supervisor: SupervisorChannel | undefined,
    private readonly store: Store,
    private readonly cluster?: ClusterRoute,
  ) {}

  async register(reg: ValidRegistration): Promise<RegisterResult> {
    if (this.ownership.owns(reg.appid)) return this.pool.register(reg);
    if (this.cluster) return this.registerInStore(reg, this.cluster);
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
      return storeFailure(err, 'registration');
    }
    supervisor.send({
      t: 'owner-command',
      id: ++this.nextId,
      appid: reg.appid,
      cmd: { kind: 'register', regs: [reg], at },
    });
    return { ok: true, created, tasks: [] };
  }

  /**
   * Cluster mode, an app another instance owns (or nobody, mid-failover):
   * written to the shared store at once; its owner learns of it from the
   * change feed, and a slot's next owner reads it when it takes the slot.
   */
  private async registerInStore(reg: ValidRegistration, cluster: ClusterRoute): Promise<RegisterResult> {
    try {
      const created = await this.store.register(reg, Date.now());
      const named = new Set(reg.tasks.map((t) => `${t.type}/${t.sub}`));
      const tasks = (await cluster.tasksOf(reg.appid)).filter((t) => named.has(`${t.type}/${t.sub}`));
      return { ok: true, created, tasks };
    } catch (err) {
      return storeFailure(err, 'registration');
    }
  }

  /** Cluster mode, a delete of an app this instance does not own: as registerInStore. */
  private async unregisterInStore(appid: string, task: TaskKey | undefined): Promise<ShardReply> {
    try {
      const found = task ? await this.store.deleteTask(task) : await this.store.deleteApp(appid);
      return { kind: 'unregistered', found };
    } catch (err) {
      return unavailable(storeFailure(err, 'delete').message);
    }
  }

  send(appid: string, cmd: ShardCommand): Promise<ShardReply> {
    if (this.ownership.owns(appid)) return this.pool.send(appid, cmd);
    const cluster = this.cluster;
    if (cluster) {
      if (cmd.kind === 'unregister') return this.unregisterInStore(appid, cmd.task);
      const owner = cluster.ownerOf(appid);
      if (owner === null)
        return Promise.resolve(
          unavailable(`No instance owns app ${appid} right now (a failover is under way); try again in a few seconds.`),
        );
      // This instance's other generation (a SIGHUP hand-over) is reached through the supervisor, as alone.
      if (owner !== cluster.self) return cluster.ask(owner, appid, cmd);
    }
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

import { dependencyOf, TaskType } from '../lib/contract/task-type.js';
import { AppRow, StoredApp, TaskRow } from '../lib/store/rows.js';
import { AppContext, DependencyHandle, ShardServices } from './services.js';
import { TaskActor } from './task-actor.js';

const taskId = (type: TaskType, sub: string) => `${type}/${sub}`;

/** One registered app: its secret and its task actors, reconciled with the store. */
export class AppActor implements AppContext {
  private row: AppRow;
  private readonly tasks = new Map<string, TaskActor>();

  constructor(readonly services: ShardServices, stored: StoredApp) {
    this.row = stored.app;
    this.reconcile(stored);
  }

  app(): AppRow {
    return this.row;
  }

  dependency(type: TaskType): DependencyHandle | undefined {
    return this.tasks.get(taskId(type, ''));
  }

  task(type: TaskType, sub: string): TaskActor | undefined {
    return this.tasks.get(taskId(type, sub));
  }

  allTasks(): TaskActor[] {
    return [...this.tasks.values()];
  }

  async keepVerifyTicket(ticket: string): Promise<void> {
    const at = Date.now();
    await this.services.store.saveVerifyTicket(this.row.appid, ticket, at);
    this.row = { ...this.row, verifyTicket: ticket, verifyTicketAt: at };
  }

  /** Bring the actors in line with what the store now says about this app. */
  reconcile(stored: StoredApp): void {
    const secretChanged = stored.app.secretGen !== this.row.secretGen;
    this.row = stored.app;
    const seen = new Set<string>();
    const added: TaskActor[] = [];
    for (const row of stored.tasks) {
      const id = taskId(row.type, row.sub);
      seen.add(id);
      const actor = this.tasks.get(id);
      if (actor) {
        actor.updateRegistration(row);
        if (secretChanged) actor.secretChanged();
      } else {
        const created = new TaskActor(this, row);
        this.tasks.set(id, created);
        added.push(created);
      }
    }
    const removed: TaskActor[] = [];
    for (const [id, actor] of this.tasks) {
      if (!seen.has(id)) {
        actor.stop();
        this.tasks.delete(id);
        removed.push(actor);
        this.services.emit({ kind: 'task-removed', key: actor.key });
      }
    }
    // Start after all actors exist, so dependents find their dependency.
    for (const actor of added) actor.start();
    const depsMoved = [...added, ...removed].some((a) => a.key.sub === '' && (a.key.type === TaskType.AccessToken || a.key.type === TaskType.ComponentToken));
    if (depsMoved) {
      for (const actor of this.tasks.values()) if (dependencyOf(actor.key.type) !== undefined && !added.includes(actor)) actor.dependencyChanged();
    }
  }

  stop(): void {
    for (const actor of this.tasks.values()) actor.stop();
  }

  /** Ownership moves to another generation: see TaskActor.release. */
  release(): void {
    for (const actor of this.tasks.values()) actor.release();
  }

  /** Stop and announce every task gone (the app was deleted). */
  remove(): void {
    for (const actor of this.tasks.values()) {
      actor.stop();
      this.services.emit({ kind: 'task-removed', key: actor.key });
    }
    this.tasks.clear();
  }

  idle(): Promise<unknown> {
    return Promise.allSettled([...this.tasks.values()].map((a) => a.idle()));
  }
}

export type { TaskRow };

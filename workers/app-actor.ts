import { dependencyOf, TaskType } from '../lib/contract/task-type.js';
import { AppRow, StoredApp, TaskRow } from '../lib/store/rows.js';
import { AppContext, DependencyHandle, ShardServices } from './shard-services.js';
import { TaskActor } from './task-actor.js';
import { findTask, tasksOf, TaskSet, withoutTask, withTask } from './task-set.js';

/** One registered app: its secret and its task actors, reconciled with the store. */
export class AppActor implements AppContext {
  private row: AppRow;
  private tasks: TaskSet = null;
  /** Deleted tasks whose fetch is still in flight, by task id: a task registered anew waits for it. */
  private retiring: Map<string, Promise<void>> | null = null;

  /** `after`: a predecessor of this app (deleted, registered anew) still has fetches in flight. */
  constructor(
    readonly services: ShardServices,
    stored: StoredApp,
    private readonly after?: Promise<unknown>,
  ) {
    this.row = stored.app;
    this.reconcile(stored);
  }

  app(): AppRow {
    return this.row;
  }

  dependency(type: TaskType): DependencyHandle | undefined {
    return findTask(this.tasks, type, '');
  }

  task(type: TaskType, sub: string): TaskActor | undefined {
    return findTask(this.tasks, type, sub);
  }

  /** `at`: when WeChat made it (a pushed ticket's CreateTime), else now. */
  async keepVerifyTicket(ticket: string, at = Date.now()): Promise<void> {
    await this.services.store.saveVerifyTicket(this.row.appid, ticket, at);
    this.row = { ...this.row, verifyTicket: ticket, verifyTicketAt: at };
  }

  /** Bring the actors in line with what the store now says about this app. */
  reconcile(stored: StoredApp): void {
    const secretChanged = stored.app.secretGen !== this.row.secretGen;
    const ticketChanged = stored.app.verifyTicket !== this.row.verifyTicket;
    this.row = stored.app;
    const seen = new Set<TaskActor>();
    const added: TaskActor[] = [];
    for (const row of stored.tasks) {
      const actor = findTask(this.tasks, row.type, row.sub);
      if (actor) {
        seen.add(actor);
        actor.tell({ kind: 'registration', row, refreshToken: row.refreshToken });
        if (secretChanged || ticketChanged) actor.tell({ kind: 'inputs', secret: secretChanged });
      } else {
        const id = `${row.type}/${row.sub}`;
        const created = new TaskActor(this, row, this.retiring?.get(id) ?? this.after);
        this.tasks = withTask(this.tasks, created);
        seen.add(created);
        added.push(created);
      }
    }
    const removed: TaskActor[] = [];
    for (const actor of tasksOf(this.tasks)) {
      if (!seen.has(actor)) {
        actor.tell({ kind: 'stop' });
        this.retire(actor);
        this.tasks = withoutTask(this.tasks, actor);
        removed.push(actor);
        this.services.emit({ kind: 'task-removed', key: actor.key });
      }
    }
    // Start after all actors exist, so dependents find their dependency.
    for (const actor of added) actor.start();
    const depsMoved = [...added, ...removed].some(
      (a) => a.key.sub === '' && (a.key.type === TaskType.AccessToken || a.key.type === TaskType.ComponentToken),
    );
    if (depsMoved) {
      for (const actor of tasksOf(this.tasks)) {
        if (dependencyOf(actor.key.type) !== undefined && !added.includes(actor))
          actor.tell({ kind: 'dependency', woken: false });
      }
    }
  }

  /** Ownership moves to another generation: no fetch starts here any more, those in flight land. */
  release(): void {
    for (const actor of tasksOf(this.tasks)) actor.tell({ kind: 'release' });
  }

  /**
   * Stop and announce every task gone (the app was deleted). Resolves once
   * their fetches in flight ended: an app registered anew waits for that,
   * so that a late answer never replaces (at WeChat) the new task's value.
   */
  remove(): Promise<unknown> {
    const actors = tasksOf(this.tasks);
    for (const actor of actors) {
      actor.tell({ kind: 'stop' });
      this.services.emit({ kind: 'task-removed', key: actor.key });
    }
    this.tasks = null;
    return Promise.allSettled(actors.map((a) => a.idle()));
  }

  idle(): Promise<unknown> {
    return Promise.allSettled(tasksOf(this.tasks).map((a) => a.idle()));
  }

  private retire(actor: TaskActor): void {
    const { type, sub } = actor.key;
    const id = `${type}/${sub}`;
    const retiring = (this.retiring ??= new Map());
    // idle() is asked after the stop message was handled.
    const done = Promise.resolve().then(() => actor.idle());
    retiring.set(id, done);
    void done.then(() => {
      if (retiring.get(id) === done) retiring.delete(id);
    });
  }
}

export type { TaskRow };

import { dependencyOf, TaskType } from '../lib/contract/task-type.js';
import { AppRow, StoredApp, TaskRow } from '../lib/store/rows.js';
import { AppContext, DependencyHandle, ShardServices } from './services.js';
import { TaskActor } from './task-actor.js';
import { findTask, tasksOf, TaskSet, withoutTask, withTask } from './task-set.js';

/** One registered app: its secret and its task actors, reconciled with the store. */
export class AppActor implements AppContext {
  private row: AppRow;
  private tasks: TaskSet = null;

  constructor(readonly services: ShardServices, stored: StoredApp) {
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

  allTasks(): TaskActor[] {
    return tasksOf(this.tasks);
  }

  /** `at`: when WeChat made it (a pushed ticket's CreateTime), else now. */
  async keepVerifyTicket(ticket: string, at = Date.now()): Promise<void> {
    await this.services.store.saveVerifyTicket(this.row.appid, ticket, at);
    this.row = { ...this.row, verifyTicket: ticket, verifyTicketAt: at };
  }

  /** Bring the actors in line with what the store now says about this app. */
  reconcile(stored: StoredApp): void {
    const secretChanged = stored.app.secretGen !== this.row.secretGen;
    this.row = stored.app;
    const seen = new Set<TaskActor>();
    const added: TaskActor[] = [];
    for (const row of stored.tasks) {
      const actor = findTask(this.tasks, row.type, row.sub);
      if (actor) {
        seen.add(actor);
        actor.updateRegistration(row);
        if (secretChanged) actor.secretChanged();
      } else {
        const created = new TaskActor(this, row);
        this.tasks = withTask(this.tasks, created);
        seen.add(created);
        added.push(created);
      }
    }
    const removed: TaskActor[] = [];
    for (const actor of tasksOf(this.tasks)) {
      if (!seen.has(actor)) {
        actor.stop();
        this.tasks = withoutTask(this.tasks, actor);
        removed.push(actor);
        this.services.emit({ kind: 'task-removed', key: actor.key });
      }
    }
    // Start after all actors exist, so dependents find their dependency.
    for (const actor of added) actor.start();
    const depsMoved = [...added, ...removed].some((a) => a.key.sub === '' && (a.key.type === TaskType.AccessToken || a.key.type === TaskType.ComponentToken));
    if (depsMoved) {
      for (const actor of tasksOf(this.tasks)) if (dependencyOf(actor.key.type) !== undefined && !added.includes(actor)) actor.dependencyChanged();
    }
  }

  stop(): void {
    for (const actor of tasksOf(this.tasks)) actor.stop();
  }

  /** Ownership moves to another generation: see TaskActor.release. */
  release(): void {
    for (const actor of tasksOf(this.tasks)) actor.release();
  }

  /** Stop and announce every task gone (the app was deleted). */
  remove(): void {
    for (const actor of tasksOf(this.tasks)) {
      actor.stop();
      this.services.emit({ kind: 'task-removed', key: actor.key });
    }
    this.tasks = null;
  }

  idle(): Promise<unknown> {
    return Promise.allSettled(tasksOf(this.tasks).map((a) => a.idle()));
  }
}

export type { TaskRow };

import { TaskType } from '../lib/contract/task-type.js';
import { TaskActor } from './task-actor.js';

/**
 * The task actors of one app. Most apps have a single task, and a Map with
 * its backing store and id strings cost ~230 B per app: one actor is held
 * as it is, and a Map is made when a second one arrives.
 */
export type TaskSet = TaskActor | Map<string, TaskActor> | null;

const taskId = (type: TaskType, sub: string) => `${type}/${sub}`;

export function findTask(set: TaskSet, type: TaskType, sub: string): TaskActor | undefined {
  if (set instanceof Map) return set.get(taskId(type, sub));
  return set?.is(type, sub) ? set : undefined;
}

/** The set with `actor` added; it must not hold a task of the same type and sub. */
export function withTask(set: TaskSet, actor: TaskActor): TaskSet {
  if (set === null) return actor;
  const map = set instanceof Map ? set : new Map([[idOf(set), set]]);
  map.set(idOf(actor), actor);
  return map;
}

/** The set without `actor`. */
export function withoutTask(set: TaskSet, actor: TaskActor): TaskSet {
  if (set instanceof Map) {
    if (set.get(idOf(actor)) === actor) set.delete(idOf(actor));
    return set;
  }
  return set === actor ? null : set;
}

/** A copy, so callers may change the set while going through it. */
export function tasksOf(set: TaskSet): TaskActor[] {
  if (set instanceof Map) return [...set.values()];
  return set ? [set] : [];
}

function idOf(actor: TaskActor): string {
  const { type, sub } = actor.key;
  return taskId(type, sub);
}

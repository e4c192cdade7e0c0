import os from 'node:os';

export type PriorityOutcome =
  | { kind: 'lowered'; nice: number }
  | { kind: 'unchanged' }
  | { kind: 'failed'; message: string };

let applied = false;

/**
 * Lower this shard thread's CPU priority by `by` nice levels, once per
 * thread (a re-init of the same thread must not lower it again, and an
 * unprivileged thread cannot raise it back). The front thread, which
 * answers queries and registrations, keeps the process's priority: under a
 * burst of fetches or refreshes it still gets the CPU first, and the
 * fetches, which the timer heap keeps in due order, finish a little later.
 *
 * Linux only: there the nice value is per thread (setpriority(2), "BUGS"),
 * and who = 0 names the calling thread. Elsewhere it would lower the whole
 * process, the front included, so nothing is changed.
 */
export function lowerThreadPriority(by: number): PriorityOutcome {
  if (applied || by <= 0 || process.platform !== 'linux') return { kind: 'unchanged' };
  applied = true;
  try {
    const nice = Math.min(19, os.getPriority(0) + by);
    os.setPriority(0, nice);
    return { kind: 'lowered', nice };
  } catch (e) {
    return { kind: 'failed', message: (e as Error).message };
  }
}

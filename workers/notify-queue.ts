import { Logger } from '../lib/log.js';

/** Why a notify was not delivered without being tried to the end. */
export type NotifyDrop = 'superseded' | 'backlog';

/** One notify: a task's value toward its URL. `task` names the task (one value per task is pending at most). */
export interface NotifyJob {
  task: string;
  url: string;
  body: string;
  /** appid, type and sub, for log lines. */
  query: Record<string, string>;
}

export interface NotifyQueueOptions {
  /** Deliveries in flight (or waiting to retry) per origin. */
  perOrigin: number;
  /** Tasks whose value waits to be delivered, per origin; beyond it new notifies are dropped. */
  backlog: number;
  /** At most one "notify failed" line per origin per this interval; the others are counted into it. */
  warnEveryMs: number;
  log: Logger;
  /** Delivers one job, with its retries. `current()` turns false once a newer value of the task waits: stop retrying then. */
  deliver(job: NotifyJob, current: () => boolean, failed: (attempt: number, why: string) => void): Promise<void>;
  dropped(reason: NotifyDrop): void;
}

interface Origin {
  inFlight: number;
  /** Tasks with a delivery in flight or waiting to retry: one at a time per task keeps the order. */
  busy: Set<string>;
  /** The newest undelivered value of each task, oldest task first. */
  waiting: Map<string, NotifyJob>;
  /** Per kind of line: when it was last logged, and how many were not logged since. */
  warned: Map<string, { at: number; quiet: number }>;
}

/**
 * Notify deliveries toward business systems, per origin:
 * - in order per task: one delivery of a task at a time, and a newer value
 *   supersedes an older one not yet sent (a retry of the older one is given
 *   up), so a business system never receives an older value after a newer;
 * - bounded: `perOrigin` in flight and `backlog` waiting per origin; a dead
 *   origin's notifies are dropped beyond it, counted, never piled up;
 * - quiet: failures (and drops) toward one origin are logged at most once
 *   per `warnEveryMs` each, with the number not logged since;
 * - pruned: an origin with nothing in flight or waiting is forgotten.
 */
export class NotifyQueue {
  private readonly origins = new Map<string, Origin>();

  constructor(private readonly o: NotifyQueueOptions) {}

  /** Origins with state held (for tests and metrics). */
  get originCount(): number {
    return this.origins.size;
  }

  push(job: NotifyJob): void {
    const key = new URL(job.url).origin;
    let q = this.origins.get(key);
    if (!q) this.origins.set(key, (q = { inFlight: 0, busy: new Set(), waiting: new Map(), warned: new Map() }));
    if (q.waiting.has(job.task)) {
      q.waiting.set(job.task, job);
      this.o.dropped('superseded');
    } else if (q.waiting.size >= this.o.backlog) {
      this.o.dropped('backlog');
      this.warn(
        q,
        { ...job.query, origin: key, backlog: this.o.backlog },
        'notify dropped: too many notifies wait for this origin',
      );
      return;
    } else {
      q.waiting.set(job.task, job);
    }
    this.pump(key, q);
  }

  private pump(key: string, q: Origin): void {
    for (const [task, job] of q.waiting) {
      if (q.inFlight >= this.o.perOrigin) break;
      if (q.busy.has(task)) continue;
      q.waiting.delete(task);
      q.busy.add(task);
      q.inFlight++;
      const current = () => !q.waiting.has(task);
      const failed = (attempt: number, why: string) => this.warn(q, { ...job.query, attempt, why }, 'notify failed');
      void this.o
        .deliver(job, current, failed)
        .catch(() => undefined)
        .finally(() => {
          q.busy.delete(task);
          q.inFlight--;
          if (q.inFlight === 0 && q.waiting.size === 0) this.origins.delete(key);
          else this.pump(key, q);
        });
    }
  }

  private warn(q: Origin, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const w = q.warned.get(msg);
    if (w && now - w.at < this.o.warnEveryMs) {
      w.quiet++;
      return;
    }
    this.o.log.warn({ ...fields, notLoggedSince: w?.quiet ?? 0 }, msg);
    q.warned.set(msg, { at: now, quiet: 0 });
  }
}

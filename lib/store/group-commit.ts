import { StoreBusy } from '../contract/errors.js';
import { backoffMs } from '../timing.js';

export { StoreBusy };

const isBusy = (e: unknown): boolean =>
  e instanceof StoreBusy || (e as { code?: unknown } | null)?.code === 'SQLITE_BUSY';

/**
 * Collects the writes issued in one turn of the event loop and commits
 * them in a single transaction: one disk write for many registrations.
 * Each op runs on its own; one failing op rejects only its own caller.
 *
 * A write lock held elsewhere (another thread, another process such as a
 * backup tool) is never waited for in the thread: the runner throws
 * StoreBusy at once and the batch is tried again shortly, for up to
 * `busyForMs`, while the event loop goes on serving.
 */
export class GroupCommit {
  private queue: Array<{ op: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  private retry: NodeJS.Timeout | null = null;
  /** When the lock was first found taken (0: it was not). */
  private busySince = 0;
  private busyTries = 0;
  /** Transactions committed so far (tests and benchmarks read it). */
  commits = 0;

  constructor(
    private readonly inTransaction: (body: () => void, busySince: number) => void,
    private readonly busyForMs = 10_000,
  ) {}

  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled && !this.retry) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commit whatever is queued now (also used when closing, then without retrying a busy lock). */
  flush(final = false): void {
    this.scheduled = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    // Each item's answer, given only once the whole batch is committed.
    const answers: Array<() => void> = [];
    try {
      this.inTransaction(() => {
        for (const item of batch) {
          try {
            const value = item.op();
            answers.push(() => item.resolve(value));
          } catch (e) {
            answers.push(() => item.reject(e));
          }
        }
      }, this.busySince || Date.now());
    } catch (e) {
      if (isBusy(e) && !final) {
        const now = Date.now();
        if (this.busySince === 0) this.busySince = now;
        if (now - this.busySince < this.busyForMs) {
          // Nothing of the batch ran: keep it, in order, ahead of what came meanwhile.
          this.queue = batch.concat(this.queue);
          this.busyTries++;
          this.retry = setTimeout(() => this.flush(), backoffMs(this.busyTries, 50, 1));
          return;
        }
      }
      this.busySince = 0;
      this.busyTries = 0;
      // The commit itself failed: nothing in the batch is durable.
      for (const item of batch) item.reject(e);
      return;
    }
    this.busySince = 0;
    this.busyTries = 0;
    this.commits++;
    for (const answer of answers) answer();
  }
}

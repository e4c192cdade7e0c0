/**
 * Collects the writes issued in one turn of the event loop and commits
 * them in a single transaction: one disk write for many registrations.
 * Each op runs on its own; one failing op rejects only its own caller.
 */
export class GroupCommit {
  private queue: Array<{ op: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  /** Transactions committed so far (tests and benchmarks read it). */
  commits = 0;

  constructor(private readonly inTransaction: (body: () => void) => void) {}

  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commit whatever is queued now (also used when closing). */
  flush(): void {
    this.scheduled = false;
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
      });
    } catch (e) {
      // The commit itself failed: nothing in the batch is durable.
      for (const item of batch) item.reject(e);
      return;
    }
    this.commits++;
    for (const answer of answers) answer();
  }
}

import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Next } from 'koa';
import { ApiError } from '../contract/errors.js';
import { Logger } from '../log.js';
import { STORE_FILE } from '../store/sqlite-store.js';

const CHECK_EVERY_MS = 2_000;

/**
 * Notices the store's file vanishing under a running server (the data
 * directory deleted or replaced). SQLite keeps writing to the open, deleted
 * file without an error, so registrations would be acknowledged and then be
 * gone at the next restart. Once noticed: one error line, writes answer 503
 * and /healthz says so, until the server is restarted on a real directory.
 */
export class StorePresence {
  private readonly file: string;
  private readonly inode: number | null;
  private timer: NodeJS.Timeout | null = null;
  /** Why nothing can be stored, once noticed. */
  problem: string | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {
    this.file = join(dataDir, STORE_FILE);
    this.inode = this.currentInode();
  }

  start(): void {
    this.timer ??= setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  check(): void {
    if (this.problem !== null || this.inode === null) return;
    const now = this.currentInode();
    if (now === this.inode) return;
    this.problem = `The data directory ${this.dataDir} was ${now === null ? 'removed' : 'replaced'} while the server ran, so nothing can be stored safely; restore it or restart the server (values already fetched are still served).`;
    this.log.error(
      { dataDir: this.dataDir, file: this.file },
      'the store file is gone from the data directory; writes are refused until a restart',
    );
    this.stop();
  }

  /** 503 while the store is gone (for writes, and for /healthz). */
  checkStorable(): void {
    if (this.problem !== null) throw new ApiError(503, 'data_dir_gone', this.problem);
  }

  private currentInode(): number | null {
    try {
      return statSync(this.file).ino;
    } catch {
      return null;
    }
  }
}

/** The Koa middleware: every request but a read is refused while the store is gone. */
export function storeWriteGuard(storage: StorePresence) {
  return async (ctx: { method: string }, next: Next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') storage.checkStorable();
    return next();
  };
}

import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../contract/errors.js';

export const LOCK_FILE = 'wechat-scheduler.lock';
export const PID_FILE = 'wechat-scheduler.pid';

/**
 * One server per data directory, like Redis, etcd or Postgres: the
 * supervisor holds an exclusive lock on `wechat-scheduler.lock` for its whole
 * life. The lock is SQLite's (an fcntl write lock, taken by BEGIN EXCLUSIVE
 * and never committed): the kernel releases it whenever the process ends,
 * kill -9 included, so a crashed server never leaves the directory locked,
 * and two servers starting at once cannot both get it. A file created with
 * O_EXCL plus a pid check is not the same: after kill -9 the file stays, its
 * pid may by then belong to another process (refusing forever), and two
 * servers that both find it stale both remove it and both go on.
 *
 * The pid file only names the holder in the refusal; the lock decides.
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(dir: string): DataDirLock {
    const db = new Database(join(dir, LOCK_FILE), { timeout: 0 });
    try {
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY')
        throw new ConfigError(`cannot lock data directory ${dir}: ${(err as Error).message}`);
      throw new ConfigError(
        `data directory ${dir} is in use by another wechat-scheduler (pid ${holderPid(dir)}); stop it first, or give this one another --data-dir`,
      );
    }
    writeFileSync(join(dir, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
    return new DataDirLock(db);
  }

  /** Only for an orderly exit: any other exit releases the lock as well. */
  release(): void {
    if (this.db.open) this.db.close();
  }
}

function holderPid(dir: string): string {
  try {
    const pid = readFileSync(join(dir, PID_FILE), 'utf8').trim();
    return /^\d+$/.test(pid) ? pid : 'unknown';
  } catch {
    return 'unknown';
  }
}

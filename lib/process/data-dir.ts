import { chmodSync, lstatSync, mkdirSync, readdirSync, Stats } from 'node:fs';
import { ConfigError } from '../contract/errors.js';

/**
 * Names this server may find in its data directory: the store and its
 * SQLite side files, the lock and pid files, and a file system's
 * lost+found when the directory is a mount point.
 */
const OURS =
  /^(?:wechat-scheduler\.db(?:-wal|-shm|-journal)?|wechat-scheduler\.lock(?:-journal)?|wechat-scheduler\.pid|lost\+found)$/;

/** A directory's first file that is not ours, or undefined. */
function foreignEntry(dir: string): string | undefined {
  return readdirSync(dir).find((name) => !OURS.test(name));
}

function statOrNull(dir: string): Stats | null {
  try {
    return lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot use data directory ${dir}: ${(err as Error).message}`);
  }
}

/**
 * Make sure the data directory is ours before anything is written to it.
 * A missing one is created private (0700). An existing one is used only
 * when it is a directory owned by this user, neither world-writable nor
 * sticky, and holds nothing but this server's files: then it is closed to
 * 0700 (the store holds appsecrets). Anything else is refused with one
 * line and left exactly as it was: a shared directory such as /tmp, or one
 * holding other programs' files, is not ours to change.
 */
export function prepareDataDir(dir: string): void {
  const st = statOrNull(dir);
  if (st === null) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  const refuse = (why: string) =>
    new ConfigError(
      `data directory ${dir} ${why}; not changing it. Use a directory of its own for --data-dir (a missing one is created 0700).`,
    );
  if (!st.isDirectory()) throw refuse('is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw refuse(`is owned by uid ${st.uid}, not by this user (uid ${uid})`);
  if (st.mode & 0o1000) throw refuse('has the sticky bit set (a shared directory)');
  if (st.mode & 0o002) throw refuse('is writable by every user');
  const foreign = foreignEntry(dir);
  if (foreign !== undefined) throw refuse(`holds "${foreign.slice(0, 100)}", which is not a file of this server`);
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

import { resolve } from 'node:path';
import { ConfigError } from '../contract/errors.js';

/**
 * Where the store lives (--store, migrate --from/--to): the embedded SQLite
 * file of a data directory, or a Redis server shared by a cluster.
 */
export type StoreLocation =
  /** `dir` undefined: the server's --data-dir. */
  | { kind: 'sqlite'; dir?: string }
  /** `display`: the URL without its password, for every message and log line. */
  | { kind: 'redis'; url: string; display: string };

/** The URL with any password replaced by `***`, safe to print. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * Read `sqlite`, `sqlite:<dir>`, `redis://[[user]:password@]host[:port][/db]`
 * or `rediss://…`; anything else is a ConfigError of one line. `what` names
 * the setting in that line (e.g. "store", "--from").
 */
export function parseStoreLocation(text: string, what: string): StoreLocation {
  const s = text.trim();
  if (s === 'sqlite') return { kind: 'sqlite' };
  if (s.startsWith('sqlite:')) {
    const dir = s.slice('sqlite:'.length);
    if (dir === '') throw new ConfigError(`invalid ${what} "${s}": sqlite:<dir> needs a directory`);
    return { kind: 'sqlite', dir };
  }
  const shown = redactUrl(s);
  if (!/^rediss?:\/\//.test(s))
    throw new ConfigError(
      `invalid ${what} "${shown}": must be "sqlite", "sqlite:<dir>", "redis://[[user]:password@]host[:port][/db]" or "rediss://…"`,
    );
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(`invalid ${what} "${shown}": not a valid URL`);
  }
  if (u.hostname === '') throw new ConfigError(`invalid ${what} "${shown}": the URL names no host`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db))
    throw new ConfigError(`invalid ${what} "${shown}": the path must be a database number, like /0`);
  if (u.search !== '' || u.hash !== '')
    throw new ConfigError(`invalid ${what} "${shown}": options after ? or # are not understood`);
  return { kind: 'redis', url: s, display: shown };
}

/**
 * Whether two locations name the same store: one SQLite directory (a bare
 * `sqlite` is `dataDir`), or one Redis server and database whatever the
 * spelling (the key prefix is the same for both sides of a migration).
 */
export function sameStore(a: StoreLocation, b: StoreLocation, dataDir: string): boolean {
  if (a.kind === 'sqlite' && b.kind === 'sqlite') return resolve(a.dir ?? dataDir) === resolve(b.dir ?? dataDir);
  if (a.kind === 'redis' && b.kind === 'redis') return redisTarget(a.url) === redisTarget(b.url);
  return false;
}

function redisTarget(url: string): string {
  const u = new URL(url);
  return `${u.hostname.toLowerCase()}:${u.port || '6379'}/${Number(u.pathname.replace(/^\//, '') || '0')}`;
}

/** How a message names a location: `sqlite:<dir>` or the URL without its password. */
export function describeStore(l: StoreLocation, dataDir: string): string {
  return l.kind === 'sqlite' ? `sqlite:${l.dir ?? dataDir}` : l.display;
}

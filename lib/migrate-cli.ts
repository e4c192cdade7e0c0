import { resolveOptions } from './config.js';
import { ConfigError } from './contract/errors.js';
import { flagLayer } from './options/flags.js';
import { describeStore, parseStoreLocation, sameStore, StoreLocation } from './store/store-url.js';

/** What `wechat-scheduler migrate` asks of the store module (lib/store/migrate.ts). */
interface MigrateOptions {
  from: StoreLocation;
  to: StoreLocation;
  redisPrefix: string;
  secretKey?: string;
  dataDir: string;
}
type RunMigrate = (o: MigrateOptions) => Promise<{ apps: number; tasks: number }>;

/** The options `migrate` takes from the option table, besides --from and --to. */
export const MIGRATE_OPTIONS = ['dataDir', 'redisPrefix'] as const;

/** Check the command line into what runMigrate takes; bad input is a ConfigError of one line. */
export function migrateInput(parsed: Record<string, unknown>, env: NodeJS.ProcessEnv): MigrateOptions {
  const from = parseStoreLocation(String(parsed.from), '--from');
  const to = parseStoreLocation(String(parsed.to), '--to');
  const o = resolveOptions([...MIGRATE_OPTIONS, 'secretKey'], flagLayer(parsed), env);
  if (sameStore(from, to, o.dataDir))
    throw new ConfigError(
      `invalid --to "${describeStore(to, o.dataDir)}": it is the same store as --from; name two different stores`,
    );
  return { from, to, redisPrefix: o.redisPrefix, secretKey: o.secretKey, dataDir: o.dataDir };
}

/** Passwords out of any URL a lower layer's message may quote. */
function redacted(message: string): string {
  return message.replace(/(rediss?:\/\/[^\s/@:]*):[^\s/@]*@/g, '$1:***@');
}

async function loadRunMigrate(): Promise<RunMigrate> {
  // Loaded on use, by a name the compiler does not follow: the server never loads it.
  const specifier = './store/migrate.js';
  let mod: unknown;
  try {
    mod = await import(specifier);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND')
      throw new Error('this build has no store migration (lib/store/migrate.js)');
    throw err;
  }
  const run = (mod as { runMigrate?: unknown }).runMigrate;
  if (typeof run !== 'function') throw new Error('this build has no store migration (lib/store/migrate.js)');
  return run as RunMigrate;
}

/**
 * `wechat-scheduler migrate --from <store> --to <store>`: copy every app
 * and prints one JSON line with the counts; a failure is one line on stderr
 * and exit status 1 (bad input: 2, from main).
 */
export async function runMigrateCli(parsed: Record<string, unknown>): Promise<void> {
  const input = migrateInput(parsed, process.env);
  let counts: { apps: number; tasks: number };
  try {
    counts = await (await loadRunMigrate())(input);
  } catch (err) {
    process.stderr.write(`wechat-scheduler: migrate failed: ${redacted((err as Error).message)}\n`);
    process.exit(1);
  }
  const line = {
    from: describeStore(input.from, input.dataDir),
    to: describeStore(input.to, input.dataDir),
    apps: counts.apps,
    tasks: counts.tasks,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

import { redactUrl } from '../store/store-url.js';

/**
 * Flags whose value is a secret. Any user of the host can read a process's
 * command line (ps, /proc/PID/cmdline), so the supervisor rewrites its own
 * (process.title overwrites the memory the kernel shows) as soon as it has
 * read it, and generation processes are started without it. The value was
 * still visible from the exec until then: the environment
 * (WECHAT_SCHEDULER_TOKEN, WECHAT_SCHEDULER_STORE) or the config file keep
 * it out entirely.
 */
const MASKS = new Map<string, (value: string) => string>([
  ['--token', () => '***'],
  // A store URL stays useful in `ps` without its password.
  ['--store', redactUrl],
]);
export const SECRET_FLAGS: readonly string[] = [...MASKS.keys()];

/** The value masked, or undefined when `flag` is no secret flag or the value holds no secret. */
function masked(flag: string, value: string): string | undefined {
  const mask = MASKS.get(flag);
  const out = mask?.(value);
  return out === undefined || out === value ? undefined : out;
}

/** argv with every secret flag's value masked, and the secret flags that were given. */
export function maskSecretArgs(argv: readonly string[]): { argv: string[]; given: string[] } {
  const given = new Set<string>();
  const out = argv.map((a, i) => {
    const prev = i > 0 ? argv[i - 1] : undefined;
    const separate = prev === undefined ? undefined : masked(prev, a);
    if (prev !== undefined && separate !== undefined) {
      given.add(prev);
      return separate;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : '';
    const joined = masked(flag, a.slice(eq + 1));
    if (joined !== undefined) {
      given.add(flag);
      return `${flag}=${joined}`;
    }
    return a;
  });
  return { argv: out, given: [...given] };
}

/** Mask this process's own command line; returns the secret flags that were on it. */
export function hideSecretArgs(): string[] {
  const { argv, given } = maskSecretArgs(process.argv);
  if (given.length > 0) process.title = argv.join(' ');
  return given;
}

/**
 * Flags whose value is a secret. Any user of the host can read a process's
 * command line (ps, /proc/PID/cmdline), so the supervisor rewrites its own
 * (process.title overwrites the memory the kernel shows) as soon as it has
 * read it, and generation processes are started without it. The value was
 * still visible from the exec until then: the environment
 * (WECHAT_SCHEDULER_TOKEN) or the config file keep it out entirely.
 */
export const SECRET_FLAGS: readonly string[] = ['--token'];

const MASK = '***';

/** argv with every secret flag's value masked, and the secret flags that were given. */
export function maskSecretArgs(argv: readonly string[]): { argv: string[]; given: string[] } {
  const given = new Set<string>();
  const out = argv.map((a, i) => {
    const prev = i > 0 ? argv[i - 1] : undefined;
    if (prev !== undefined && SECRET_FLAGS.includes(prev)) {
      given.add(prev);
      return MASK;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : '';
    if (SECRET_FLAGS.includes(flag)) {
      given.add(flag);
      return `${flag}=${MASK}`;
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

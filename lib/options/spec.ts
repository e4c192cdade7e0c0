import type { Parser } from './parse.js';

/**
 * Facts of the process that first resolved the config (the supervisor).
 * Defaults made from them must not change when a front generation, another
 * process, resolves the config again after a reload.
 */
export interface StartFacts {
  hostname: string;
  pid: number;
}

/**
 * One option, declared once: where it may be given and how it is read.
 * The command line, the environment table, the known config-file keys, the
 * resolved Config type and the settings shard threads get are all made from
 * these declarations (lib/options/table.ts).
 */
export interface OptionSpec<T> {
  /** A command-line flag: commander's spelling (`-p, --port <n>`) and its help line. */
  flag?: {
    spec: string;
    help: string;
    /** The key of its value among the flags a supervisor hands to generations, when not the option's name. */
    key?: string;
  };
  /** The environment variable that sets it. */
  env?: string;
  /** Settable in the config file, under the option's name. */
  file?: true;
  /** The value when no layer sets it; a function for defaults that depend on the host. Absent: unset. */
  default?: T | ((facts: StartFacts) => T);
  parse: Parser<T>;
  /** Every layer adds to the value (defaults < file < env < flags) instead of the last one winning. */
  merge?: (layers: T[]) => T;
  /** Shard threads get it (lib/contract/messages.ts ShardSettings). */
  shards?: true;
}

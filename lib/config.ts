import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ConfigError } from './contract/errors.js';
import type { Parser } from './options/parse.js';
import type { OptionSpec, StartFacts } from './options/spec.js';
import { OPTIONS, OptionName } from './options/table.js';

export type { ApiTokenRule } from './options/parse.js';
export type { StartFacts } from './options/spec.js';
export type { OptionName } from './options/table.js';

type Table = typeof OPTIONS;
type ValueOf<K extends OptionName> = Table[K] extends { parse: Parser<infer T> } ? T : never;
type HasDefault<K extends OptionName> = Table[K] extends { default: unknown } ? K : never;
type Defaulted = { [K in OptionName]: HasDefault<K> }[OptionName];

/** The fully resolved settings one front generation runs with: one field per option of lib/options/table.ts. */
export type Config = { -readonly [K in Defaulted]: ValueOf<K> } & {
  -readonly [K in Exclude<OptionName, Defaulted>]?: ValueOf<K>;
};

/** The options shard threads get (`shards: true` in the table). */
export type ShardOptionName = { [K in OptionName]: Table[K] extends { shards: true } ? K : never }[OptionName];
export type ShardOptions = Pick<Config, ShardOptionName>;

/** Each default is a value of its option's type (checked here, where the types meet). */
type DefaultsFit = {
  [K in OptionName]: Table[K] extends { default: infer D }
    ? D extends ValueOf<K> | ((facts: StartFacts) => ValueOf<K>)
      ? true
      : false
    : true;
}[OptionName];
const defaultsFit: false extends DefaultsFit ? never : true = true;
void defaultsFit;

/**
 * Options as they come from flags, env or the config file: unvalidated, keyed
 * by option name (a flag's value by its `flag.key` when it has one).
 */
export type RawOptions = Partial<Record<OptionName | 'token', unknown>>;

const SPECS = Object.entries(OPTIONS) as Array<[OptionName, OptionSpec<unknown>]>;

/** How messages name an option: its flag, else its config-file key, else its environment variable. */
export function optionLabel(name: OptionName, spec: OptionSpec<unknown>): string {
  const long = spec.flag && /--([a-z0-9-]+)/.exec(spec.flag.spec)?.[1];
  return long ?? (spec.file ? name : (spec.env ?? name));
}

/** The environment's layer (docs/api.md §1: environment variables mirror the flags). */
export function envOptions(env: NodeJS.ProcessEnv): RawOptions {
  const out: RawOptions = {};
  for (const [name, spec] of SPECS) {
    const v = spec.env === undefined ? undefined : env[spec.env];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

/** The config file's layer: a JSON object whose keys are option names. */
export function readConfigFile(file: string): RawOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the error, which may be a token: keep only what and where.
    const why = (e as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    throw new ConfigError(`config file ${file} is not valid JSON: ${why}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  const out: RawOptions = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(k in OPTIONS) || !(OPTIONS[k as OptionName] as OptionSpec<unknown>).file)
      throw new ConfigError(`config file ${file}: unknown setting "${k}"`);
    out[k as OptionName] = v;
  }
  return out;
}

/** This process's facts, for the first resolution of the config. */
export function thisProcess(): StartFacts {
  return { hostname: os.hostname(), pid: process.pid };
}

interface Layers {
  file: RawOptions;
  env: RawOptions;
  flags: RawOptions;
}

function resolveOne(name: OptionName, spec: OptionSpec<unknown>, l: Layers, facts: StartFacts): unknown {
  const label = optionLabel(name, spec);
  const given = [
    spec.file ? l.file[name] : undefined,
    spec.env !== undefined ? l.env[name] : undefined,
    spec.flag ? l.flags[(spec.flag.key ?? name) as OptionName] : undefined,
  ].filter((v) => v !== undefined);
  if (spec.merge && given.length > 0) return spec.merge(given.map((v) => spec.parse(v, label)));
  const last = given.at(-1);
  if (last !== undefined) return spec.parse(last, label);
  return typeof spec.default === 'function' ? (spec.default as (f: StartFacts) => unknown)(facts) : spec.default;
}

function resolveLayers<K extends OptionName>(names: readonly K[], l: Layers, facts: StartFacts): Pick<Config, K> {
  const out: Partial<Record<OptionName, unknown>> = {};
  for (const [name, spec] of SPECS) {
    if (!(names as readonly OptionName[]).includes(name)) continue;
    const v = resolveOne(name, spec, l, facts);
    if (v !== undefined) out[name] = v;
  }
  return out as Pick<Config, K>;
}

const ALL = SPECS.map(([name]) => name);

/**
 * Merge the layers (later wins: defaults, config file, environment, flags)
 * and validate every value once, here at the edge. `facts`: those of the
 * process that resolved the config first, so that a reload elsewhere keeps
 * its host-made defaults.
 */
export function resolveConfig(flags: RawOptions, env: NodeJS.ProcessEnv, facts: StartFacts = thisProcess()): Config {
  const fromEnv = envOptions(env);
  const { configFile } = resolveLayers(['configFile'], { file: {}, env: fromEnv, flags }, facts);
  const file = configFile ? readConfigFile(configFile) : {};
  return resolveLayers(ALL, { file, env: fromEnv, flags }, facts) as Config;
}

/** Some options from flags and the environment alone (a subcommand with no config file). */
export function resolveOptions<K extends OptionName>(
  names: readonly K[],
  flags: RawOptions,
  env: NodeJS.ProcessEnv,
  facts: StartFacts = thisProcess(),
): Pick<Config, K> {
  return resolveLayers(names, { file: {}, env: envOptions(env), flags }, facts);
}

const SHARD_NAMES = SPECS.filter(([, spec]) => spec.shards).map(([name]) => name as ShardOptionName);

/** The options a shard thread gets, taken from the config. */
export function shardOptions(c: Config): ShardOptions {
  return resolvedPick(c, SHARD_NAMES);
}

function resolvedPick<K extends keyof Config>(c: Config, names: readonly K[]): Pick<Config, K> {
  const out: Partial<Pick<Config, K>> = {};
  for (const k of names) if (c[k] !== undefined) out[k] = c[k];
  return out as Pick<Config, K>;
}

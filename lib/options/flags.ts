import { Command, Option } from 'commander';
import type { OptionName, RawOptions } from '../config.js';
import type { OptionSpec } from './spec.js';
import { OPTIONS } from './table.js';

const WITH_FLAGS = (Object.entries(OPTIONS) as Array<[OptionName, OptionSpec<unknown>]>).filter(
  (e): e is [OptionName, OptionSpec<unknown> & { flag: NonNullable<OptionSpec<unknown>['flag']> }] =>
    e[1].flag !== undefined,
);

/** Declare the flags of the named options (all that have one by default) on `cmd`, in the table's order. */
export function addOptionFlags(cmd: Command, names?: readonly OptionName[]): Command {
  for (const [name, spec] of WITH_FLAGS) if (!names || names.includes(name)) cmd.option(spec.flag.spec, spec.flag.help);
  return cmd;
}

/**
 * The flags' layer from what commander parsed: unset flags stay absent, so
 * they do not hide the environment or the config file.
 */
export function flagLayer(parsed: Record<string, unknown>): RawOptions {
  const raw: RawOptions = {};
  for (const [name, spec] of WITH_FLAGS) {
    const v = parsed[new Option(spec.flag.spec).attributeName()];
    if (v !== undefined) raw[(spec.flag.key ?? name) as OptionName] = v;
  }
  return raw;
}

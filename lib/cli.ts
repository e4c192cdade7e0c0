import { Command, CommanderError } from 'commander';
import { resolveConfig } from './config.js';
import { ConfigError } from './contract/errors.js';
import { MIGRATE_OPTIONS } from './migrate-cli.js';
import { addOptionFlags, flagLayer } from './options/flags.js';
import { packageVersion } from './version.js';

/** `-p=8080` is how the original tool was started; commander alone would read the value as `=8080`. */
export function normaliseArgv(args: string[]): string[] {
  return args.flatMap((a) => {
    const m = /^-(?<flag>[A-Za-z])=(?<value>.*)$/.exec(a)?.groups;
    return m?.flag !== undefined && m.value !== undefined ? [`-${m.flag}`, m.value] : [a];
  });
}

function simulatorPort(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535)
    throw new ConfigError(`invalid port "${v}": must be an integer from 0 to 65535`);
  return Number(v);
}

function program(): Command {
  const cmd = new Command('wechat-scheduler')
    .description('WeChat access_token central-control server (微信 access_token 中控服务器)')
    .version(packageVersion(), '-v, --version', 'print the version and exit')
    .enablePositionalOptions()
    // Before the subcommands are added: they copy it.
    .exitOverride();
  addOptionFlags(cmd).action(async (flags: Record<string, unknown>) => {
    // First: until this runs, `ps` shows the token to every user of the host.
    const { hideSecretArgs } = await import('./process/argv-secrets.js');
    const secretFlags = hideSecretArgs();
    const raw = flagLayer(flags);
    const config = resolveConfig(raw, process.env);
    // Imported on use: the supervisor lives for the server's whole life and need not hold the simulator (or vice versa).
    const { runSupervisor } = await import('./process/supervisor.js');
    await runSupervisor(raw, config, secretFlags);
  });
  addOptionFlags(
    cmd
      .command('migrate')
      .description(
        'copy every registration, value, refresh token and ticket from one store to another, fetching nothing',
      )
      .requiredOption('--from <store>', 'sqlite, sqlite:<dir> or redis://… to copy from')
      .requiredOption('--to <store>', 'sqlite, sqlite:<dir> or redis://… to copy to'),
    MIGRATE_OPTIONS,
  ).action(async (o: Record<string, unknown>) => {
    const { runMigrateCli } = await import('./migrate-cli.js');
    await runMigrateCli(o);
  });
  cmd
    .command('simulate')
    .description('run the WeChat API simulator (for integration tests against this server or your own code)')
    .option('-p, --port <n>', 'port to listen on', '9100')
    .option('--host <addr>', 'bind address', '127.0.0.1')
    .option('--expires-in <s>', 'expires_in of issued tokens, seconds (default 7200)')
    .action(async (o: { port: string; host: string; expiresIn?: string }) => {
      const expiresIn = o.expiresIn === undefined ? undefined : simulatorPort(o.expiresIn);
      const { runSimulatorCli } = await import('./simulator/index.js');
      await runSimulatorCli({ port: simulatorPort(o.port), host: o.host, expiresIn });
    });
  return cmd;
}

export async function main(argv: string[]): Promise<void> {
  const cmd = program();
  try {
    await cmd.parseAsync(normaliseArgv(argv.slice(2)), { from: 'user' });
  } catch (err) {
    // Commander printed its one line already; a usage error is bad input like any other.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    const message = err instanceof ConfigError ? err.message : `cannot start: ${(err as Error).message}`;
    process.stderr.write(`wechat-scheduler: ${message}\n`);
    process.exit(2);
  }
}

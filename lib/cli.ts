import { Command, CommanderError } from 'commander';
import { RawOptions, resolveConfig } from './config.js';
import { ConfigError } from './contract/errors.js';
import { packageVersion } from './version.js';

/** `-p=8080` is how the original tool was started; commander alone would read the value as `=8080`. */
export function normaliseArgv(args: string[]): string[] {
  return args.flatMap((a) => {
    const m = /^-(?<flag>[A-Za-z])=(?<value>.*)$/.exec(a)?.groups;
    return m?.flag !== undefined && m.value !== undefined ? [`-${m.flag}`, m.value] : [a];
  });
}

interface ServerFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  wechatApi?: string;
  token?: string;
  config?: string;
  workers?: string;
  logLevel?: string;
  wechatTimeout?: string;
  refreshInterval?: string;
  stableToken?: boolean;
}

function toRawOptions(f: ServerFlags): RawOptions {
  const raw: RawOptions = {
    port: f.port,
    host: f.host,
    dataDir: f.dataDir,
    wechatApi: f.wechatApi,
    token: f.token,
    configFile: f.config,
    workers: f.workers,
    logLevel: f.logLevel,
    wechatTimeoutMs: f.wechatTimeout,
    refreshMinIntervalMs: f.refreshInterval,
    stableToken: f.stableToken,
  };
  // Unset flags must not hide the environment or the config file.
  for (const k of Object.keys(raw) as Array<keyof RawOptions>) if (raw[k] === undefined) delete raw[k];
  return raw;
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
    .option('-p, --port <n>', 'HTTP port (env WECHAT_SCHEDULER_PORT)', undefined)
    .option('--host <addr>', 'bind address (default 0.0.0.0)')
    .option('--data-dir <dir>', 'where registrations and tokens are kept (default ./data)')
    .option('--wechat-api <url>', 'base URL of the WeChat API (default https://api.weixin.qq.com)')
    .option(
      '--token <t>',
      'API token(s), comma-separated; prefer env WECHAT_SCHEDULER_TOKEN or the config file: a command line is visible to every user',
    )
    .option('--config <file>', 'JSON config file, re-read on SIGHUP; flags win over it')
    .option('--workers <n>', 'worker threads that own the apps (default: CPU count)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (default info)')
    .option('--wechat-timeout <ms>', 'bound on every WeChat call (default 10000)')
    .option('--refresh-interval <ms>', 'minimum interval between forced refreshes without "stale" (default 10000)')
    .option('--stable-token', 'use /cgi-bin/stable_token for every type 0 task')
    .action(async (flags: ServerFlags) => {
      // First: until this runs, `ps` shows the token to every user of the host.
      const { hideSecretArgs } = await import('./process/argv-secrets.js');
      const secretFlags = hideSecretArgs();
      const raw = toRawOptions(flags);
      const config = resolveConfig(raw, process.env);
      // Imported on use: the supervisor lives for the server's whole life and need not hold the simulator (or vice versa).
      const { runSupervisor } = await import('./process/supervisor.js');
      await runSupervisor(raw, config, secretFlags);
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
  cmd.exitOverride();
  try {
    await cmd.parseAsync(normaliseArgv(argv.slice(2)), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode); // commander printed its one line already
    const message = err instanceof ConfigError ? err.message : `cannot start: ${(err as Error).message}`;
    process.stderr.write(`wechat-scheduler: ${message}\n`);
    process.exit(2);
  }
}

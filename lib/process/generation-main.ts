/**
 * Entry of a front generation process, forked by the supervisor. It does
 * what the supervisor says (start, activate, release, stop) and nothing
 * on its own: signals are the supervisor's to act on.
 */
import { Config, RawOptions, resolveConfig, StartFacts } from '../config.js';
import { Generation } from '../generation/generation.js';
import { FromGeneration, SupervisorChannel, ToGeneration } from './ipc.js';

process.umask(0o077);

if (!process.send) {
  process.stderr.write('wechat-scheduler: this file is started by the supervisor; run bin/wechat-scheduler instead\n');
  process.exit(2);
}

const channel: SupervisorChannel = {
  send(msg: FromGeneration) {
    if (process.connected) process.send!(msg);
  },
};

// A terminal's Ctrl-C or systemd's SIGTERM reaches the whole process group;
// the supervisor turns it into an orderly stop, so this process ignores it.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);

// When the supervisor is gone (killed with -9, or crashed), Node's cluster
// worker exits by itself on the IPC disconnect (measured: ~70 ms), so the
// port and the apps are free for a restart; test/core-durability checks it.

let gen: Generation | undefined;

/**
 * The config as the files say now, or — when they no longer parse (edited
 * since the last start, and this generation replaces one that died) — the
 * supervisor's, the last that worked: a typo in a file nobody reloaded yet
 * must not keep the service down. A SIGHUP with a broken file never gets
 * here: the supervisor refuses that reload before it starts a generation.
 */
function configNow(
  flags: RawOptions,
  facts: StartFacts | undefined,
  lastGood: Config,
): { config: Config; broken?: string } {
  try {
    // A supervisor of an earlier release sends no facts: its defaults are this process's then.
    return { config: resolveConfig(flags, process.env, facts) };
  } catch (err) {
    return { config: lastGood, broken: (err as Error).message };
  }
}

async function handle(msg: ToGeneration): Promise<void> {
  switch (msg.t) {
    case 'start':
      try {
        // This generation's code reads the config file: a setting added by new code works after a reload.
        const read = configNow(msg.flags, msg.facts as StartFacts | undefined, msg.config);
        const config: Config = {
          ...read.config,
          port: msg.config.port,
          host: msg.config.host,
          dataDir: msg.config.dataDir,
        };
        gen = await Generation.start({ config, active: msg.active, generation: msg.generation, supervisor: channel });
        if (read.broken)
          gen.log.error(
            { err: read.broken },
            'config file not usable; running with the last config that worked (fix it, then send SIGHUP)',
          );
        gen.log.info(
          { owning: msg.active, build: gen.build, workers: config.workers, instance: config.instanceId },
          'generation started',
        );
        channel.send({ t: 'ready', port: gen.port, build: gen.build });
      } catch (err) {
        channel.send({ t: 'failed', message: (err as Error).message });
        process.exitCode = 1;
        setTimeout(() => process.exit(1), 100);
      }
      return;
    case 'activate':
      await gen!.activate();
      channel.send({ t: 'activated' });
      return;
    case 'release':
      await gen!.release();
      channel.send({ t: 'released' });
      return;
    case 'stop':
      await gen?.stop();
      process.exit(0);
      return;
    case 'owner-command':
      channel.send({
        t: 'owner-reply',
        id: msg.id,
        reply: gen
          ? await gen.runAsOwner(msg.appid, msg.cmd)
          : { kind: 'error', reason: 'unavailable', message: 'This generation is starting; try again.' },
      });
      return;
    case 'owner-reply':
      gen?.owner.settle(msg.id, msg.reply);
      return;
  }
}

process.on('message', (msg: ToGeneration) => {
  handle(msg).catch((err: Error) => {
    gen?.log.error({ err: err.message, message: msg.t }, 'generation command failed');
    // Half-known state is worse than a restart: the supervisor replaces this process.
    process.exit(1);
  });
});
channel.send({ t: 'alive' });

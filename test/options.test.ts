// docs/api.md §1 and §9: every option declared once in lib/options/table.ts;
// the cluster options (--store, --redis-prefix, --instance-id, --lease-ms)
// through every layer, and their bad values as one line from the real binary.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Config, envOptions, readConfigFile, resolveConfig, shardOptions } from '../lib/config.js';
import { defaultInstanceId } from '../lib/options/parse.js';
import { maskSecretArgs } from '../lib/process/argv-secrets.js';
import { OPTIONS } from '../lib/options/table.js';
import { waitFor } from './helpers/poll.js';
import { runToExit, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

/** Exit status 2 and exactly one line (nothing else printed) that matches `why`. */
async function badInput(args: string[], why: RegExp, env: Record<string, string> = {}): Promise<string> {
  const what = args.join(' ') || JSON.stringify(env);
  const r = await runToExit(args, env);
  assert.is(r.code, 2, `${what}: exit status (printed: ${r.out})`);
  assert.is(r.out.trim().split('\n').length, 1, `${what}: one line, got ${r.out}`);
  assert.match(r.out, why, what);
  return r.out;
}

function withFile(settings: Record<string, unknown>): string {
  const file = join(tempDir('ws-options-'), 'config.json');
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

let sim: Sim;
test.before(async () => {
  sim = await startSim();
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('cluster options default to one SQLite instance named after host and pid', () => {
  const c = resolveConfig({}, {}, { hostname: 'box.example', pid: 4242 });
  assert.equal(c.store, { kind: 'sqlite' });
  assert.is(c.redisPrefix, 'wechat-scheduler:');
  assert.is(c.instanceId, 'box.example-4242');
  assert.is(c.leaseMs, 10_000);
  // Without facts: this process's own.
  assert.is(resolveConfig({}, {}).instanceId, `${os.hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-${process.pid}`);
  assert.is(defaultInstanceId('odd host/name', 7), 'odd-host-name-7');
});

test('each cluster option: config file < environment < flag', () => {
  const file = withFile({
    store: 'redis://file-host:6379/1',
    redisPrefix: 'file:',
    instanceId: 'from-file',
    leaseMs: 20_000,
  });
  const env = {
    WECHAT_SCHEDULER_STORE: 'rediss://env-user:env-pass@env-host:6380/2',
    WECHAT_SCHEDULER_REDIS_PREFIX: 'env:',
    WECHAT_SCHEDULER_INSTANCE_ID: 'from-env',
    WECHAT_SCHEDULER_LEASE_MS: '30000',
  };
  const fileOnly = resolveConfig({ configFile: file }, {});
  assert.equal(fileOnly.store, { kind: 'redis', url: 'redis://file-host:6379/1', display: 'redis://file-host:6379/1' });
  assert.equal([fileOnly.redisPrefix, fileOnly.instanceId, fileOnly.leaseMs], ['file:', 'from-file', 20_000]);
  const envWins = resolveConfig({ configFile: file }, env);
  assert.equal(envWins.store, {
    kind: 'redis',
    url: 'rediss://env-user:env-pass@env-host:6380/2',
    display: 'rediss://env-user:***@env-host:6380/2',
  });
  assert.equal([envWins.redisPrefix, envWins.instanceId, envWins.leaseMs], ['env:', 'from-env', 30_000]);
  const flagsWin = resolveConfig(
    { configFile: file, store: 'sqlite', redisPrefix: 'flag:', instanceId: 'from-flag', leaseMs: '1000' },
    env,
  );
  assert.equal(flagsWin.store, { kind: 'sqlite' });
  assert.equal([flagsWin.redisPrefix, flagsWin.instanceId, flagsWin.leaseMs], ['flag:', 'from-flag', 1000]);
});

test('bad cluster option values are refused with a sentence naming the setting', () => {
  const bad: Array<[Parameters<typeof resolveConfig>[0], RegExp]> = [
    [{ leaseMs: '999' }, /^invalid lease-ms "999": must be an integer from 1000 to /],
    [{ leaseMs: '10s' }, /^invalid lease-ms "10s"/],
    [{ store: 'mysql://db' }, /^invalid store "mysql:\/\/db": must be "sqlite"/],
    [{ store: 'sqlite:/srv/ws' }, /use --store sqlite with --data-dir \/srv\/ws/],
    [{ instanceId: 'two words' }, /^invalid instance-id "two words"/],
    [{ redisPrefix: 'a b' }, /^invalid redis-prefix "a b"/],
  ];
  for (const [flags, why] of bad) assert.throws(() => resolveConfig(flags, {}), why, JSON.stringify(flags));
  assert.throws(() => resolveConfig({ configFile: withFile({ leaseMs: 10 }) }, {}), /invalid lease-ms "10"/);
  assert.throws(() => resolveConfig({ configFile: withFile({ store: 6379 }) }, {}), /invalid store: must be a/);
});

test('the table makes the layers: every env name and config key it declares is read, nothing else', () => {
  const envNames = new Set<string>();
  for (const [name, spec] of Object.entries(OPTIONS)) {
    if ('env' in spec) {
      assert.not.ok(envNames.has(spec.env), `${spec.env} declared once`);
      envNames.add(spec.env);
      assert.equal(envOptions({ [spec.env]: 'v' }), { [name]: 'v' }, spec.env);
    }
    const file = withFile({ [name]: 1 });
    if ('file' in spec) assert.equal(readConfigFile(file), { [name]: 1 }, name);
    else assert.throws(() => readConfigFile(file), new RegExp(`unknown setting "${name}"`), name);
  }
  assert.equal(envOptions({ WECHAT_SCHEDULER_PORTS: '1', WECHAT_SCHEDULER_PORT: '' }), {}, 'unknown or empty');
  assert.throws(() => readConfigFile(withFile({ tokenz: [] })), /unknown setting "tokenz"/);
  // The env-only key is refused in the file: it would sit beside the data it protects.
  assert.throws(() => resolveConfig({ configFile: withFile({ secretKey: 'x' }) }, {}), /unknown setting "secretKey"/);
});

test('the README names every flag, environment variable and config key of the table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const [name, spec] of Object.entries(OPTIONS)) {
    if ('flag' in spec) {
      const long = /--[a-z0-9-]+/.exec(spec.flag.spec)?.[0] ?? spec.flag.spec;
      assert.ok(readme.includes(`\`${long}`), `README lists ${long}`);
    }
    if ('env' in spec) assert.ok(readme.includes(`\`${spec.env}\``), `README lists ${spec.env}`);
    if ('file' in spec) assert.ok(readme.includes(`\`${name}\``), `README lists the config key ${name}`);
  }
});

test('shard threads get exactly the options marked for them', () => {
  const c: Config = resolveConfig({ token: 't1', store: 'redis://h:1/0' }, {}, { hostname: 'h', pid: 1 });
  const s = shardOptions(c);
  const marked = Object.entries(OPTIONS)
    .filter(([, spec]) => 'shards' in spec)
    .map(([name]) => name);
  assert.ok(
    Object.keys(s).every((k) => marked.includes(k)),
    Object.keys(s).join(','),
  );
  for (const k of ['store', 'redisPrefix', 'instanceId', 'leaseMs', 'dataDir', 'wechatApi'] as const)
    assert.equal(s[k], c[k], k);
  assert.not.ok('tokens' in s, 'API tokens stay in the front');
  assert.not.ok('port' in s);
});

test('a malformed --store exits 2 with one line that never shows the password', async () => {
  for (const [args, env] of [
    [['--store', 'redis://admin:hunter2@cache.internal/zero'], {}],
    [['--store=redis://admin:hunter2@/0'], {}],
    [[], { WECHAT_SCHEDULER_STORE: 'rediss://:hunter2@cache.internal:6380/0?tls=1' }],
    [['--store', 'memcached://admin:hunter2@cache.internal'], {}],
  ] as Array<[string[], Record<string, string>]>) {
    const line = await badInput(args, /^wechat-scheduler: invalid store "/, env);
    assert.not.match(line, /hunter2/, `${line}: no password`);
  }
  await badInput(['--lease-ms', '999'], /^wechat-scheduler: invalid lease-ms "999"/);
  await badInput([], /^wechat-scheduler: invalid instance-id/, { WECHAT_SCHEDULER_INSTANCE_ID: 'has space' });
});

test('migrate: bad --from/--to, a missing one or the same store twice exit 2 with one line', async () => {
  const dir = tempDir('ws-migrate-');
  const bad = async (args: string[], why: RegExp) => {
    const line = await badInput(['migrate', ...args], why);
    assert.not.match(line, /hunter2/);
  };
  await bad(
    ['--from', 'sqlite', '--to', 'redis://u:hunter2@h/x'],
    /^wechat-scheduler: invalid --to "redis:\/\/u:\*\*\*@h\/x"/,
  );
  await bad(['--from', 'postgres://u:hunter2@h', '--to', 'sqlite:/x'], /^wechat-scheduler: invalid --from "/);
  await bad(['--from', 'sqlite'], /--to/);
  await bad(['--data-dir', dir, '--from', 'sqlite', '--to', `sqlite:${dir}/.`], /same store as --from/);
  await bad(['--from', 'redis://:hunter2@Cache:6379', '--to', 'rediss://cache/0'], /same store as --from/);
  await bad(['--from', 'sqlite:/a', '--to', 'redis://h', '--lease-ms', '1000'], /unknown option '--lease-ms'/);
});

test("--store's password is masked on the command line like --token; a URL without one is left alone", () => {
  const argv = ['node', 'bin', '--store', 'redis://u:hunter2@h:6379/0', '--store=rediss://:hunter2@h', '--token', 't'];
  const { argv: shown, given } = maskSecretArgs(argv);
  assert.equal(shown, [
    'node',
    'bin',
    '--store',
    'redis://u:***@h:6379/0',
    '--store=rediss://:***@h',
    '--token',
    '***',
  ]);
  assert.equal(given.sort(), ['--store', '--token']);
  const plain = ['node', 'bin', '--store', 'redis://h:6379/0', 'constructor', 'x'];
  assert.equal(maskSecretArgs(plain), { argv: plain, given: [] });
});

test('the default instance id is the supervisor pid and stays the same across a reload', async () => {
  const srv = await startServer({ wechatApi: sim.url, workers: 1 });
  const started = () => srv.logs().filter((l) => l.msg === 'generation started');
  const expected = defaultInstanceId(os.hostname(), srv.pid);
  await waitFor('the first generation', () => started().length >= 1, 30_000);
  srv.signal('SIGHUP');
  await waitFor('the second generation', () => started().length >= 2, 60_000);
  assert.equal(
    started().map((l) => l.instance),
    [expected, expected],
  );
  assert.is(await srv.stop(), 0);
});

test.run();

// Commands between instances over Redis pub/sub: asked, answered, timed
// out, and malformed messages dropped without harm.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createClient } from 'redis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterKeys } from '../lib/cluster/keys.js';
import { OwnerChannel, OwnerHandler, RemoteCommand } from '../lib/cluster/owner-channel.js';
import { ShardReply } from '../lib/contract/messages.js';
import { waitFor } from './helpers/poll.js';
import { PlainRedis, redisMissing, RunningRedis, startRedis } from './helpers/redis.js';

const missing = redisMissing();
if (missing) throw new Error(missing);

const keys = clusterKeys('oc:');
let redis: RunningRedis;
const clients: PlainRedis[] = [];
const warnings: string[] = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      warnings.push(chunk.toString());
      done();
    },
  }),
);

async function connected(): Promise<PlainRedis> {
  const c: PlainRedis = createClient({ url: redis.url });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

async function channel(instanceId: string): Promise<OwnerChannel> {
  return OwnerChannel.open({
    publisher: await connected(),
    subscriber: await connected(),
    keys,
    instanceId,
    logger,
  });
}

const refresh: RemoteCommand = { kind: 'refresh', key: { appid: 'wxa', type: 0, sub: '' }, stale: 'old' };

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await redis.stop();
});

test('a command reaches the owner and its answer comes back; a failing handler answers "failed"', async () => {
  const a = await channel('a');
  const b = await channel('b');
  const seen: [string, RemoteCommand][] = [];
  const handler: OwnerHandler = (appid, cmd) => {
    seen.push([appid, cmd]);
    if (cmd.kind === 'clear-quota') return Promise.reject(new Error('quota store broke'));
    return Promise.resolve({ kind: 'unregistered', found: appid === 'wxa' });
  };
  await b.serve(handler);
  assert.equal(await a.ask('b', 'wxa', refresh, 5_000), { kind: 'unregistered', found: true });
  assert.equal(seen, [['wxa', refresh]]);
  const failed = await a.ask('b', 'wxb', { kind: 'clear-quota', appid: 'wxb' }, 5_000);
  assert.is(failed.kind, 'error');
  assert.match((failed as { message: string }).message, /quota store broke/);
  // Both ways at once.
  await a.serve(() => Promise.resolve({ kind: 'ok' }));
  const [x, y] = await Promise.all([b.ask('a', 'wxc', refresh, 5_000), a.ask('b', 'wxa', refresh, 5_000)]);
  assert.equal(x, { kind: 'ok' });
  assert.equal(y, { kind: 'unregistered', found: true });
  await a.close();
  await b.close();
});

test('an instance that is gone, never there or too slow is "unavailable" with a sentence', async () => {
  const a = await channel('a2');
  const b = await channel('b2');
  let release: (r: ShardReply) => void = () => undefined;
  await b.serve(() => new Promise<ShardReply>((r) => (release = r)));
  const slow = await a.ask('b2', 'wxa', refresh, 300);
  assert.equal(slow.kind === 'error' && slow.reason, 'unavailable');
  assert.match((slow as { message: string }).message, /b2 did not answer within 300 ms/);
  // Its late answer finds nobody waiting and harms nothing.
  release({ kind: 'ok' });

  const never = await a.ask('nobody', 'wxa', refresh, 5_000);
  assert.equal(never.kind === 'error' && never.reason, 'unavailable');
  assert.match((never as { message: string }).message, /nobody is not listening/);

  await b.close();
  const gone = await a.ask('b2', 'wxa', refresh, 5_000);
  assert.equal(gone.kind === 'error' && gone.reason, 'unavailable');

  // Closing answers the questions still waiting.
  const c = await channel('c2');
  let asked = false;
  await c.serve(() => {
    asked = true;
    return new Promise<ShardReply>(() => undefined);
  });
  const pending = a.ask('c2', 'wxa', refresh, 60_000);
  await waitFor('c2 to be asked', () => asked);
  await a.close();
  assert.match(((await pending) as { message: string }).message, /shutting down/);
  await c.close();
  const after = await a.ask('b2', 'wxa', refresh, 5_000);
  assert.match((after as { message: string }).message, /shutting down/);
});

test('malformed commands and replies are logged and dropped; the channel keeps working', async () => {
  const a = await channel('a3');
  const b = await channel('b3');
  let calls = 0;
  await b.serve(() => {
    calls++;
    return Promise.resolve({ kind: 'ok' });
  });
  const raw = await connected();
  warnings.length = 0;
  const deadline = Date.now() + 60_000;
  const bad = [
    'not json',
    '[1,2]',
    JSON.stringify({ id: 'x', from: 'a3', appid: 'wxa', deadline, cmd: { kind: 'crash' } }),
    JSON.stringify({ id: 'x', from: 'a3', appid: 'wxa', deadline, cmd: { kind: 'refresh' } }),
    JSON.stringify({ from: 'a3', appid: 'wxa', deadline, cmd: refresh }),
    JSON.stringify({ id: 'x', from: 'a3', appid: 'wxa', cmd: refresh }),
    // Well formed, but long after its asker stopped waiting.
    JSON.stringify({ id: 'x', from: 'a3', appid: 'wxa', deadline: Date.now() - 60_000, cmd: refresh }),
  ];
  for (const m of bad) await raw.publish(keys.commands('b3'), m);
  await raw.publish(keys.replies('a3'), JSON.stringify({ id: 'x', reply: { kind: 'error', reason: 'nope' } }));
  await raw.publish(keys.replies('a3'), '{');
  await waitFor('every malformed message to be logged', () => warnings.length >= bad.length + 2);
  assert.is(calls, 0, 'no malformed command reached the handler');
  assert.ok(
    warnings.every((w) => !w.includes('wxa')),
    'the content is not logged',
  );
  assert.equal(await a.ask('b3', 'wxa', refresh, 5_000), { kind: 'ok' });
  assert.is(calls, 1);
  await a.close();
  await b.close();
});

test('a publish stuck in the client (Redis reconnecting) does not hold the answer past its timeout', async () => {
  const stuck = await OwnerChannel.open({
    publisher: { publish: () => new Promise<number>(() => undefined) },
    subscriber: await connected(),
    keys,
    instanceId: 'a5',
    logger,
  });
  const r = await stuck.ask('b5', 'wxa', refresh, 200);
  assert.match((r as { message: string }).message, /did not answer within 200 ms/);
  await stuck.close();
});

test('while Redis is down questions are "unavailable"; once it is back, they are answered again', async () => {
  const a = await channel('a4');
  const b = await channel('b4');
  await b.serve(() => Promise.resolve({ kind: 'ok' }));
  assert.equal(await a.ask('b4', 'wxa', refresh, 5_000), { kind: 'ok' });
  await redis.kill();
  // Answered within its timeout even though the publish waits in the client's queue.
  const down = await a.ask('b4', 'wxa', refresh, 500);
  assert.equal(down.kind === 'error' && down.reason, 'unavailable');
  assert.match((down as { message: string }).message, /did not answer within 500 ms|could not be sent/);
  await redis.restart();
  // The clients reconnect and subscribe again by themselves.
  await waitFor('b4 to answer again', async () => {
    const r = await a.ask('b4', 'wxa', refresh, 1_000);
    return r.kind === 'ok';
  });
  await a.close();
  await b.close();
});

test.run();

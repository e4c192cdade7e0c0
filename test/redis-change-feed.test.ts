// The change feed on a real redis-server: a write by one store reaches
// another instance's feed through pub/sub, and a message the subscriber
// missed (its connection killed) is still delivered by the feed's own read.
import { AddressInfo, connect, createServer, Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChangeFeed } from '../lib/cluster/change-feed.js';
import { validateRegistration } from '../lib/contract/registration.js';
import { TaskType } from '../lib/contract/task-type.js';
import { TaskRow } from '../lib/store/rows.js';
import { RedisStore } from '../lib/store/redis-store.js';
import { secretCodec } from '../lib/store/secret-codec.js';
import { waitFor } from './helpers/poll.js';
import { state } from './helpers/store-conformance.js';
import { redisMissing, RunningRedis, startRedis } from './helpers/redis.js';

/** A TCP proxy to Redis that can drop its newest connection and refuse new ones. */
async function tcpProxy(target: number) {
  const pairs: Array<[Socket, Socket]> = [];
  let refusing = false;
  const server = createServer((inbound) => {
    if (refusing) {
      inbound.destroy();
      return;
    }
    const outbound = connect(target, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    pairs.push([inbound, outbound]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    refuse(on: boolean) {
      refusing = on;
    },
    cutLast() {
      const last = pairs.pop();
      last?.[0].destroy();
      last?.[1].destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => r());
      }),
  };
}

const missing = redisMissing();
let redis: RunningRedis;
let prefixes = 0;
const stoppers: Array<() => Promise<void>> = [];

const reg = (appid: string, tasks: unknown[] = [{ type: 0 }]) =>
  validateRegistration({ appid, appsecret: 'secret-of-feed', tasks });

async function open(prefix: string): Promise<RedisStore> {
  const store = await RedisStore.open({ url: redis.url, display: redis.url, prefix, secrets: secretCodec(undefined) });
  stoppers.push(() => store.close());
  return store;
}

/** A feed on its own store (another instance), recording what it is told. */
async function feedOf(prefix: string, pollMs: number, fromVersion = 0) {
  const store = await open(prefix);
  const got: Array<{ appid: string; rows: TaskRow[] }> = [];
  const errors: string[] = [];
  const feed = await ChangeFeed.start({
    store,
    pollMs,
    fromVersion,
    onChanged: (appid, rows) => got.push({ appid, rows }),
    onError: (m) => errors.push(m),
  });
  stoppers.push(() => feed.stop());
  return { feed, got, errors, store };
}

if (missing) {
  console.log(`skipped: the change feed tests need redis-server: ${missing}`);
} else {
  test.before(async () => {
    redis = await startRedis();
  });
  test.after(async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    await redis.stop();
  });

  test('a write by one instance reaches another instance through pub/sub, in version order', async () => {
    const prefix = `f${++prefixes}:`;
    const writer = await open(prefix);
    await writer.register(reg('wxold'), Date.now());
    // A poll far away: only the message can deliver within this test.
    const { feed, got, errors } = await feedOf(prefix, 600_000, await writer.version());
    await writer.register(reg('wxa', [{ type: 0 }, { type: 1 }]), Date.now());
    await writer.saveState({ appid: 'wxa', type: TaskType.AccessToken, sub: '' }, state('AT_A'));
    await writer.register(reg('wxb'), Date.now());
    await writer.deleteApp('wxb');
    await waitFor('the feed to reach the last write', async () => feed.version() === (await writer.version()));
    const last = new Map(got.map((g) => [g.appid, g.rows]));
    assert.not.ok(last.has('wxold'), 'nothing before fromVersion');
    assert.equal(
      last.get('wxa')!.map((r) => [r.type, r.value]),
      [
        [0, 'AT_A'],
        [1, null],
      ],
    );
    assert.equal(last.get('wxb'), [], 'a deleted app arrives with no rows');
    assert.equal(errors, []);
    assert.ok(feed.lagMs() < 600_000, 'the feed read after a message, not on its poll');
  });

  test('a message missed while the subscriber was disconnected is still delivered by the poll', async () => {
    const prefix = `f${++prefixes}:`;
    const writer = await open(prefix);
    // The feed's instance reaches Redis through a proxy that can cut its subscriber off.
    const proxy = await tcpProxy(redis.port);
    stoppers.push(() => proxy.close());
    const store = await RedisStore.open({
      url: `redis://127.0.0.1:${proxy.port}`,
      display: 'proxy',
      prefix,
      secrets: secretCodec(undefined),
    });
    stoppers.push(() => store.close());
    const got: string[] = [];
    const feed = await ChangeFeed.start({ store, pollMs: 300, onChanged: (appid) => got.push(appid) });
    stoppers.push(() => feed.stop());
    const plain = await redis.client();
    stoppers.push(() => plain.close());
    const channel = writer.keys.changesChannel;
    await waitFor('the feed to subscribe', async () => (await plain.pubSubNumSub(channel))[channel] === 1);
    // The connection opened last is the subscriber's; it stays away while the proxy refuses.
    proxy.refuse(true);
    proxy.cutLast();
    await waitFor('the subscriber to be gone', async () => (await plain.pubSubNumSub(channel))[channel] === 0);
    // Only a read started after the write can deliver it.
    await feed.settled();
    await writer.register(reg('wxmissed'), Date.now());
    await waitFor('the missed change to be delivered', () => got.includes('wxmissed'));
    assert.is((await plain.pubSubNumSub(channel))[channel], 0, 'delivered while nobody was subscribed');
    proxy.refuse(false);
    await waitFor('the subscriber to be back', async () => (await plain.pubSubNumSub(channel))[channel] === 1);
    await writer.register(reg('wxafter'), Date.now());
    await waitFor('the next change', () => got.includes('wxafter'));
  });

  test('Redis restarted: the feed resumes by itself, and after a Redis that lost its data, resyncs from 0', async () => {
    const prefix = `f${++prefixes}:`;
    const writer = await open(prefix);
    await writer.register(reg('wxr1'), Date.now());
    await writer.register(reg('wxr2'), Date.now());
    const { feed, got } = await feedOf(prefix, 300);
    await waitFor('the first read', () => feed.version() === 2);
    await redis.kill();
    await redis.restart();
    await waitFor('the writer to reconnect', () => writer.status() === 'up', 30_000);
    await writer.register(reg('wxr3'), Date.now());
    await waitFor('the change after the restart', () => got.some((g) => g.appid === 'wxr3'));
    // Redis comes back empty (data lost): the version goes backwards and the feed starts over.
    const plain = await redis.client();
    stoppers.push(() => plain.close());
    await plain.flushAll();
    got.length = 0;
    await writer.register(reg('wxr4'), Date.now());
    await waitFor('the new version to be read', () => got.some((g) => g.appid === 'wxr4'));
    assert.is(feed.version(), 1, 'counted again from 0');
  });

  test.run();
}

// Issue 15: notify in order, bounded. A business system never receives an
// older value after a newer one; a dead origin's backlog is capped, its
// superseded notifies dropped and counted, its failures logged sparingly.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Callbacks } from '../workers/callbacks.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let srv: RunningServer;
const servers: Server[] = [];

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

test.before(async () => {
  sim = await startSim();
  srv = await startServer({ wechatApi: sim.url, workers: 1 });
});
test.after(async () => {
  await stopAll();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await sim.close();
});

async function droppedMetric(reason: string): Promise<number> {
  const text = (await srv.api.get('/metrics')).text;
  const m = new RegExp(`^wechat_scheduler_notify_dropped_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : -1;
}

test('a failed older notify is never delivered after a newer one; it is dropped as superseded and counted', async () => {
  /** Delivered values, in the order the business system accepted them. */
  const delivered: string[] = [];
  const tried: string[] = [];
  let first: string | null = null;
  let refusals = 0;
  const url = await listen((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const value = String((JSON.parse(body) as { access_token?: string }).access_token);
      tried.push(value);
      first ??= value;
      // The first value is refused twice: its retries would come after the second value.
      if (value === first && refusals < 2) {
        refusals++;
        res.writeHead(500).end();
        return;
      }
      delivered.push(value);
      res.writeHead(200).end('{}');
    });
  });
  assert.is(
    (await srv.api.register({ appid: 'wxorder1', appsecret: 'order-secret', tasks: [{ type: 0, notify: `${url}/n` }] }))
      .status,
    200,
  );
  const t1 = await srv.api.awaitValue('wxorder1', 0);
  await waitFor('the first notify attempt', () => tried.includes(t1));
  const r = await srv.api.post('/task/wxorder1/0/refresh', { stale: t1 });
  assert.is(r.status, 200, r.text);
  const t2 = r.body.result as string;
  assert.is.not(t2, t1);
  await waitFor('the newer value delivered', () => delivered.includes(t2));
  await waitFor(
    'the older notify given up as superseded',
    async () => (await droppedMetric('superseded')) >= 1,
    20_000,
  );
  assert.equal(delivered, [t2], `delivered in order: ${delivered.join(', ')}; tried ${tried.join(', ')}`);
});

/** A pino logger whose lines are kept here, parsed. */
function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info', formatters: { level: (label) => ({ level: label }) } }, sink), lines };
}

test('toward a hanging origin: a capped backlog, newer values supersede waiting ones, one warning line, state pruned after', async () => {
  const hanging = await listen(() => undefined);
  const { log, lines } = capturedLog();
  const drops = { superseded: 0, backlog: 0 };
  let failed = 0;
  const cb = new Callbacks(
    1_000,
    log,
    undefined,
    (ok) => (failed += ok ? 0 : 1),
    undefined,
    (reason) => drops[reason]++,
    50,
  );
  for (let i = 0; i < 300; i++)
    cb.notify(`${hanging}/n`, { appid: `wxhang${i}`, type: '0' }, { access_token: `v1-${i}` });
  // 32 in flight, 50 waiting, the rest dropped at once.
  assert.is(drops.backlog, 300 - 32 - 50);
  // Newer values of a waiting task replace it: still one waiting for that task.
  for (let v = 2; v <= 6; v++)
    cb.notify(`${hanging}/n`, { appid: 'wxhang50', type: '0' }, { access_token: `v${v}-50` });
  assert.is(drops.superseded, 5);
  assert.is(drops.backlog, 300 - 32 - 50, 'a newer value of a waiting task takes no new place');
  // The 32 in flight time out after 1 s: one warning line for the origin, not 32.
  await waitFor('the first failures', () => failed >= 32, 20_000);
  const failLines = lines.filter((l) => l.msg === 'notify failed');
  assert.is(failLines.length, 1, JSON.stringify(failLines.slice(0, 3)));
  const dropLines = lines.filter((l) => String(l.msg).startsWith('notify dropped'));
  assert.is(dropLines.length, 1, 'one line for the drops, the rest counted');
  await cb.close();

  // An origin that answers: everything delivered, then its state is gone.
  const ok = await listen((req, res) => req.resume().on('end', () => res.writeHead(200).end('{}')));
  let delivered = 0;
  const cb2 = new Callbacks(
    5_000,
    log,
    undefined,
    (yes) => (delivered += yes ? 1 : 0),
    undefined,
    () => undefined,
    50,
  );
  for (let i = 0; i < 20; i++) cb2.notify(`${ok}/n`, { appid: `wxok${i}`, type: '0' }, { access_token: `v-${i}` });
  await waitFor('20 deliveries', () => delivered === 20);
  await waitFor('the origin pruned', () => cb2.notifies.originCount === 0);
  await cb2.close();
});

test.run();

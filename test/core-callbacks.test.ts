// docs/api.md §6: a slow or dead business URL never delays refreshes, other apps
// or the HTTP front.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at } from './helpers/must.js';
import { Business, startBusiness } from './helpers/business.js';
import { Json } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { RunningServer, startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let biz: Business;
let srv: RunningServer;
let hang: Server;
let hangUrl = '';

test.before(async () => {
  sim = await startSim();
  biz = await startBusiness();
  // Accepts every request and never answers.
  hang = createServer(() => undefined);
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
  srv = await startServer({ wechatApi: sim.url, workers: 1 });
});
test.after(async () => {
  await stopAll();
  hang.closeAllConnections();
  await new Promise((r) => hang.close(r));
  await biz.close();
  await sim.close();
});

test('40 apps notifying a dead host and a hanging params URL do not hold up another app on the same thread', async () => {
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      srv.api.register({ appid: `wxdead${i}`, appsecret: 's', tasks: [{ type: 0, notify: `${hangUrl}/notify` }] }),
    ),
  );
  await srv.api.register({
    appid: 'wxparamshang',
    appsecret: 'sec-paramshang',
    tasks: [{ type: 1, params: `${hangUrl}/params` }],
  });
  await sim.addApp({ appid: 'wxlive', secret: 's', expiresIn: 3 });
  await srv.api.register({ appid: 'wxlive', appsecret: 's', tasks: [{ type: 0, notify: `${biz.url}/live` }] });

  // The live app keeps refreshing on its 3 s schedule and its notifies arrive.
  await waitFor('three refreshes of the live app', async () => (await sim.calls('wxlive')).token >= 3, 25_000, 200);
  const liveNotifies = () => biz.received.filter((r) => r.path === '/live').length;
  await waitFor('three notifies of the live app', () => liveNotifies() >= 3, 10_000);
  // The front answers throughout. Asked right after a notify, the value has its whole 3 s ahead,
  // so a refresh that a loaded machine runs a little late cannot show here.
  const notified = liveNotifies();
  await waitFor('the next notify of the live app', () => liveNotifies() > notified, 10_000, 10);
  for (let i = 0; i < 20; i++) {
    const r = await srv.api.get('/task/wxlive/0');
    assert.is(r.status, 200);
  }
  // The app whose params URL hangs is failing with a sentence saying why, once the 5 s timeout passed.
  const t = await waitFor(
    'the params timeout',
    async () => {
      const tasks = ((await srv.api.get('/apps/wxparamshang')).body.result as { tasks: Json[] }).tasks;
      const task = at(tasks, 0, 'task of wxparamshang');
      return task.state === 'failing' ? task : undefined;
    },
    20_000,
  );
  assert.match(String(t.last_error), /params/i, String(t.last_error));
  // Every dead-notify app still got its value.
  for (let i = 0; i < 40; i += 13) assert.is((await srv.api.get(`/task/wxdead${i}/0`)).status, 200);
});

test.run();

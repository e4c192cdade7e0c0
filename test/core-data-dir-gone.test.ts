// Issue 15: a data directory deleted under a running server. SQLite keeps
// writing to the open, deleted file, so registrations would be acknowledged
// and vanish at the next restart: the server notices, logs an error, refuses
// writes with 503 and says so in /healthz; reads of fetched values go on.
import { rmSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './helpers/poll.js';
import { startServer, stopAll } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('rm -rf of the data dir: an error line, /healthz 503, writes 503, fetched values still served', async () => {
  const token = 'gone-dir-token';
  const srv = await startServer({ wechatApi: sim.url, workers: 1, args: ['--token', token], token });
  assert.is((await srv.api.register({ appid: 'wxgone1', appsecret: 'gone-secret', tasks: [{ type: 0 }] })).status, 200);
  const value = await srv.api.awaitValue('wxgone1', 0);
  assert.is((await srv.api.get('/healthz')).status, 200);

  rmSync(srv.dataDir, { recursive: true, force: true });
  const health = await waitFor(
    '/healthz to say so',
    async () => {
      const r = await srv.api.get('/healthz');
      return r.status === 503 ? r : undefined;
    },
    20_000,
  );
  assert.match(String(health.body.message), new RegExp(`The data directory .* was removed while the server ran`));
  // The line may reach our pipe after the answer that followed it.
  await waitFor(
    'the error line',
    async () =>
      srv
        .logs()
        .some(
          (l) =>
            l.level === 'error' &&
            l.msg === 'the store file is gone from the data directory; writes are refused until a restart',
        ) || undefined,
    20_000,
  );

  // Fast registration path and Koa alike.
  const reg = await srv.api.register({ appid: 'wxgone2', appsecret: 'gone-secret-2', tasks: [{ type: 0 }] });
  assert.is(reg.status, 503, reg.text);
  assert.match(String(reg.body.message), /nothing can be stored safely/);
  const del = await srv.api.del('/app/wxgone1');
  assert.is(del.status, 503, del.text);
  const refresh = await srv.api.post('/task/wxgone1/0/refresh', {});
  assert.is(refresh.status, 503, refresh.text);
  assert.is(await srv.api.value('wxgone1', 0), value);
  assert.is(await srv.stop(), 0);
});

test.run();

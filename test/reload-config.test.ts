// docs/api.md §1/§8: the --config file is re-read on SIGHUP. A file that does not
// parse or validate leaves the running generation untouched and the reason is
// logged; a valid changed file (tokens, scopes) takes effect.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from './helpers/http.js';
import { waitFor } from './helpers/poll.js';
import { startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
test.before(async () => {
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

test('a broken config plus SIGHUP keeps the old config serving; a valid one takes effect', async () => {
  const file = join(tempDir('ws-config-'), 'config.json');
  writeFileSync(file, JSON.stringify({ tokens: ['tok-one'] }));
  const srv = await startServer({ wechatApi: sim.url, workers: 1, args: ['--config', file] });
  const one = client(srv.url, 'tok-one');
  const two = client(srv.url, 'tok-two');
  const readOnly = client(srv.url, 'tok-ro');
  assert.is((await one.register({ appid: 'wxconfig', appsecret: 's-config', tasks: [{ type: 0 }] })).status, 200);
  const value = await waitFor('value', () => one.value('wxconfig', 0).catch(() => null));
  assert.is((await two.get('/apps')).status, 401);

  const failures = () => srv.logs().filter((l) => l.msg === 'reload failed; the running generation keeps serving');
  const broken: Array<[string, RegExp]> = [
    ['{"tokens": ["tok-two"', /not valid JSON/],
    [JSON.stringify({ tokens: ['tok-two'], wechatTimeoutMs: 5 }), /invalid wechat-timeout/],
    [JSON.stringify({ tokens: ['tok-two'], tokenz: [] }), /unknown setting "tokenz"/],
  ];
  for (const [i, [text, why]] of broken.entries()) {
    writeFileSync(file, text);
    srv.signal('SIGHUP');
    const logged = await waitFor(`failure ${i + 1} logged`, () => failures()[i]);
    assert.match(String(logged.err), why);
    assert.match(String(logged.err), /config not reloaded/);
    // Still the old config, still serving.
    assert.is(await one.value('wxconfig', 0), value);
    assert.is((await two.get('/apps')).status, 401);
  }
  assert.not.ok(
    srv.logs().some((l) => l.msg === 'reload: starting a new generation'),
    'no generation was started for a bad config',
  );

  writeFileSync(file, JSON.stringify({ tokens: ['tok-two', { token: 'tok-ro', readOnly: true }] }));
  srv.signal('SIGHUP');
  await waitFor('the reload', () => srv.logs().some((l) => l.msg === 'reload: new generation owns the apps'), 60_000);
  // A keep-alive connection opened before the reload gets one more answer from the old
  // generation (with Connection: close); once that generation has drained, only the new config answers.
  await waitFor(
    'the old generation to stop',
    () => srv.logs().some((l) => l.msg === 'stopped' && l.generation === 1),
    30_000,
  );
  assert.is((await two.get('/apps')).status, 200);
  assert.is(await two.value('wxconfig', 0), value);
  assert.is((await one.get('/apps')).status, 401);
  assert.is(await readOnly.value('wxconfig', 0), value);
  assert.is((await readOnly.register({ appid: 'wxconfig', appsecret: 's-config', tasks: [{ type: 0 }] })).status, 403);
  assert.is((await sim.calls('wxconfig')).token, 1);
  assert.is(await srv.stop(), 0);
});

test.run();

// docs/api.md §8: on SIGHUP "new code on disk takes over". The service runs from a
// copy of the built tree; a built file changes; after SIGHUP /healthz reports
// the new build stamp (a digest of dist/lib and dist/workers) from a new
// generation process, under the same supervisor.
import { appendFileSync, cpSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { at } from './helpers/must.js';
import { waitFor } from './helpers/poll.js';
import { startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let sim: Sim;
test.before(async () => {
  sim = await startSim({ expiresIn: 7200 });
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

/** A runnable copy of the built service (the repository's own dist is never touched). */
function copyBuiltTree(): string {
  const dir = join(tempDir('ws-build-'), 'app');
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

test('a changed built file is running after SIGHUP: new build stamp, new generation, same PID', async () => {
  const dir = copyBuiltTree();
  const srv = await startServer({ bin: join(dir, 'bin', 'wechat-scheduler'), wechatApi: sim.url, workers: 1 });
  assert.is((await srv.api.register({ appid: 'wxbuild', appsecret: 's-build', tasks: [{ type: 0 }] })).status, 200);
  const value = await waitFor('value', () => srv.api.value('wxbuild', 0).catch(() => null));
  const stamp = async () => (await srv.api.get('/healthz')).headers.get('x-scheduler-build');
  const reloads = () => srv.logs().filter((l) => l.msg === 'reload: new generation owns the apps');
  const first = await stamp();
  assert.match(first ?? '', /^[0-9a-f]{16}$/);

  // Unchanged files: a reload keeps the stamp (it is a digest, not a per-process id).
  srv.signal('SIGHUP');
  await waitFor('reload 1', () => reloads().length === 1, 60_000);
  assert.is(await stamp(), first);

  appendFileSync(join(dir, 'dist', 'lib', 'front', 'app.js'), '\n// changed on disk by reload-build.test.ts\n');
  srv.signal('SIGHUP');
  await waitFor('reload 2', () => reloads().length === 2, 60_000);
  const second = await waitFor('the new stamp', async () => {
    const s = await stamp();
    return s !== first ? s : null;
  });
  assert.match(second ?? '', /^[0-9a-f]{16}$/);
  assert.is(at(reloads(), 1, 'reload').build, second);
  // The third generation's line comes from its own process: wait for it rather than assume it came first.
  const started = () =>
    new Set(
      srv
        .logs()
        .filter((l) => l.msg === 'generation started')
        .map((l) => l.pid),
    );
  await waitFor('three generation started lines', () => started().size >= 3);
  assert.is(started().size, 3, 'three generation processes');
  process.kill(srv.pid, 0);
  assert.is(await srv.api.value('wxbuild', 0), value);
  assert.is((await sim.calls('wxbuild')).token, 1);
  assert.is(await srv.stop(), 0);
});

test.run();

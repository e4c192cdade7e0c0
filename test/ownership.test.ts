// One Ownership per generation: what the owner link, the shard pool and the
// query cache all ask. Single-instance mode hands every app over at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SingleInstanceOwnership } from '../lib/generation/ownership.js';

test('taking over: shards load from the start, the apps are owned only once loading is done', async () => {
  const o = new SingleInstanceOwnership(false);
  assert.is(o.owns('wxa'), false);
  assert.equal(o.slotsToLoad(), []);
  let during: [boolean, unknown] | null = null;
  await o.take(async () => {
    during = [o.owns('wxa'), o.slotsToLoad()];
    await Promise.resolve();
  });
  assert.equal(during, [false, 'all']);
  assert.is(o.owns('wxa'), true);
});

test('a take-over that fails leaves nothing owned; giving up stops owning before the drain', async () => {
  const o = new SingleInstanceOwnership(false);
  await o.take(() => Promise.reject(new Error('a shard did not load'))).catch(() => undefined);
  assert.is(o.owns('wxa'), false);
  assert.equal(o.slotsToLoad(), []);
  const owner = new SingleInstanceOwnership(true);
  let ownedWhileDraining = true;
  await owner.give(async () => {
    ownedWhileDraining = owner.owns('wxa') || owner.slotsToLoad() === 'all';
    await Promise.resolve();
  });
  assert.is(ownedWhileDraining, false);
  assert.is(owner.owns('wxa'), false);
});

test.run();

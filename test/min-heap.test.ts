// The one min-heap (lib/util/min-heap.ts), driven by seeded random
// operations and checked against a plain model after every step.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MinHeap } from '../lib/util/min-heap.js';
import { seededRandom } from './helpers/random.js';

class Item {
  heapIndex = -1;
  constructor(readonly id: number) {}
}

/** The smallest key in the model (Infinity when empty). */
function smallest(model: Map<Item, number>): number {
  let min = Infinity;
  for (const key of model.values()) min = Math.min(min, key);
  return min;
}

test('set, move, delete and pop agree with a model at every step', () => {
  const random = seededRandom(13);
  const heap = new MinHeap<Item>();
  const model = new Map<Item, number>();
  const items = Array.from({ length: 200 }, (_, i) => new Item(i));
  for (let step = 0; step < 20_000; step++) {
    const item = items[Math.floor(random() * items.length)]!;
    const op = random();
    if (op < 0.5) {
      // Few distinct keys, so ties are common.
      const key = Math.floor(random() * 50);
      heap.set(item, key);
      model.set(item, key);
    } else if (op < 0.75) {
      assert.is(heap.delete(item), model.delete(item), `delete at step ${step}`);
      assert.is(item.heapIndex, -1);
    } else {
      const min = smallest(model);
      assert.is(heap.peekKey(), min, `peekKey at step ${step}`);
      const top = heap.pop();
      if (min === Infinity) {
        assert.is(top, undefined);
      } else {
        assert.ok(top);
        assert.is(model.get(top), min, `pop at step ${step} gave a key that is not the smallest`);
        model.delete(top);
        assert.is(top.heapIndex, -1);
      }
    }
    assert.is(heap.size, model.size, `size at step ${step}`);
  }
  for (const item of items) assert.is(item.heapIndex >= 0, model.has(item), `membership of ${item.id}`);
});

test('pops every item in key order, and grows past its first array', () => {
  const random = seededRandom(7);
  const heap = new MinHeap<Item>();
  const keys: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const key = random() * 1e6;
    keys.push(key);
    heap.set(new Item(i), key);
  }
  keys.sort((a, b) => a - b);
  const popped: number[] = [];
  while (heap.size > 0) {
    popped.push(heap.peekKey());
    heap.pop();
  }
  assert.equal(popped, keys);
  assert.is(heap.peekKey(), Infinity);
});

test('a NaN key sorts first instead of breaking the order; clear empties it', () => {
  const heap = new MinHeap<Item>();
  const a = new Item(1);
  const b = new Item(2);
  heap.set(a, 5);
  heap.set(b, NaN);
  assert.is(heap.pop(), b);
  assert.is(heap.peek(), a);
  heap.clear();
  assert.is(heap.size, 0);
  assert.is(a.heapIndex, -1);
  assert.is(heap.pop(), undefined);
});

test.run();

/** Something a MinHeap holds: it carries its own position, so it can be moved or removed in O(log n). */
export interface HeapItem {
  /** Position in the heap, -1 when not in one. Written by the heap only. */
  heapIndex: number;
}

/**
 * The one binary min-heap: items ordered by a number (a deadline in ms).
 * Keys live in a Float64Array beside the items, so no item carries a boxed
 * number for its key; each item is in at most one heap at a time.
 */
export class MinHeap<T extends HeapItem> {
  private items: T[] = [];
  private keys = new Float64Array(64);

  get size(): number {
    return this.items.length;
  }

  /** The item with the smallest key, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** The smallest key, or Infinity when empty. */
  peekKey(): number {
    return this.items.length === 0 ? Infinity : this.keys[0]!;
  }

  /** Put `item` in at `key`, or move it there when it is in already. */
  set(item: T, key: number): void {
    // NaN would break the order; it sorts as "now or earlier".
    if (Number.isNaN(key)) key = 0;
    const i = item.heapIndex;
    if (i < 0) {
      const n = this.items.length;
      if (n === this.keys.length) this.grow();
      this.items.push(item);
      this.place(item, key, n);
      this.up(n);
      return;
    }
    const was = this.keys[i]!;
    this.keys[i] = key;
    if (key < was) this.up(i);
    else this.down(i);
  }

  /** Take `item` out; false when it was not in. */
  delete(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  /** Removes and returns the item with the smallest key (undefined when empty). */
  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items = [];
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    const item = this.items[i]!;
    item.heapIndex = -1;
    const moved = this.items.pop()!;
    if (i === last) return;
    this.place(moved, this.keys[last]!, i);
    this.up(i);
    this.down(moved.heapIndex);
  }

  private grow(): void {
    const next = new Float64Array(this.keys.length * 2);
    next.set(this.keys);
    this.keys = next;
  }

  private up(i: number): void {
    const item = this.items[i]!;
    const key = this.keys[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p]! <= key) break;
      this.place(this.items[p]!, this.keys[p]!, i);
      i = p;
    }
    this.place(item, key, i);
  }

  private down(i: number): void {
    const n = this.items.length;
    const item = this.items[i]!;
    const key = this.keys[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.keys[r]! < this.keys[l]! ? r : l;
      if (this.keys[c]! >= key) break;
      this.place(this.items[c]!, this.keys[c]!, i);
      i = c;
    }
    this.place(item, key, i);
  }

  private place(item: T, key: number, i: number): void {
    this.items[i] = item;
    this.keys[i] = key;
    item.heapIndex = i;
  }
}

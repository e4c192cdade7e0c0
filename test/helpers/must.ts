// Narrowing for tests and benchmarks, which index fixtures, regex groups and
// lists they have just produced: a missing value is a failed expectation, so
// it throws a sentence naming what was missing instead of a TypeError later.

/** `x` itself, or a thrown error saying that `what` was missing. */
export function must<T>(x: T | undefined | null, what: string): T {
  if (x === undefined || x === null) throw new Error(`expected ${what}, got ${String(x)}`);
  return x;
}

/** `list[i]`, or a thrown error saying the list is shorter than expected. */
export function at<T>(list: ArrayLike<T>, i: number, what = 'item'): T {
  const x = i < 0 ? list[list.length + i] : list[i];
  if (x === undefined) throw new Error(`expected ${what} at index ${i} of ${list.length}, found undefined`);
  return x;
}

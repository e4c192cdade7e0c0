/**
 * V8 flags for the generation process (its main thread and shard threads).
 * Between full collections V8 lets an old generation grow to up to four
 * times what was live; at 100k tasks that slack was half of the server's
 * RSS (bench/results/2026-11-24.md, "RSS"). A fixed 30 % keeps the heaps close to their
 * live size for a few per cent more GC time.
 *
 * --v8-pool-size=0: V8's helper threads (parallel scavenges, concurrent
 * marking) sized by Node to the cores there are (minus one) instead of a
 * fixed 4. On 2 cores, four helpers beside three busy JS threads cost more
 * in contention than they saved: bench/scale.ts at 100k spent ~20 % less
 * CPU per registration with one (bench/results/2026-11-24.md, round 5).
 *
 * --no-memory-reducer: the memory reducer collects when the process goes
 * quiet, and such a collection frees the maps of Node's short-lived internal
 * objects (the tick objects process.nextTick makes for every HTTP answer).
 * On Node 20 their creation sites then stay megamorphic for good, and every
 * later request takes V8's slow path (bench/query.ts --quiet shows it).
 * Collections still run as the heap grows; a quiet server keeps its heap.
 */
export const GENERATION_V8_FLAGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--heap-growing-percent=30',
  '--v8-pool-size=0',
  '--no-memory-reducer',
];

/** Ours first: node flags the user started the server with come later and win. */
export function generationExecArgv(own: readonly string[]): string[] {
  return [...GENERATION_V8_FLAGS, ...own];
}

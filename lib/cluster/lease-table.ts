import { monoNow } from '../timing.js';
import { SLOT_COUNT, slotOf } from '../util/shard-of.js';

/** Whole microseconds kept per slot: two 64-bit words read and written with Atomics. */
const MICROS = 1000;
/** Word 0: the safety margin in microseconds; then per slot [fence, validUntil µs]. */
const HEADER_WORDS = 1;
const WORDS = HEADER_WORDS + 2 * SLOT_COUNT;

/**
 * Which slots this instance holds a lease on, and until when by the
 * monotonic clock, in shared memory: the lease keeper (front thread)
 * writes it, shard threads read it before every WeChat call without a
 * message round trip. A call may start only while the lease is valid by
 * more than the margin (a fifth of the lease), so that a call started at
 * the last permitted moment still lands, or is refused by its fence,
 * before another instance can hold the slot.
 */
export class LeaseTable {
  readonly buffer: SharedArrayBuffer;
  private readonly words: BigInt64Array;

  /**
   * Without `buffer`: a new, empty table for a lease of `leaseMs`. With
   * the `buffer` of another table (handed to a thread): that same table,
   * margin included; `leaseMs` is then ignored.
   */
  constructor(buffer?: SharedArrayBuffer, leaseMs = 10_000) {
    this.buffer = buffer ?? new SharedArrayBuffer(WORDS * 8);
    if (this.buffer.byteLength !== WORDS * 8)
      throw new Error(`a lease table buffer has ${WORDS * 8} bytes, not ${this.buffer.byteLength}`);
    this.words = new BigInt64Array(this.buffer);
    if (!buffer) Atomics.store(this.words, 0, BigInt(Math.round((leaseMs / 5) * MICROS)));
  }

  /** How long before a lease's end calls stop starting. */
  get marginMs(): number {
    return Number(Atomics.load(this.words, 0)) / MICROS;
  }

  /** This instance holds `slot` under `fence` until `validUntil` (monoNow() milliseconds). */
  set(slot: number, fence: number, validUntil: number): void {
    const at = index(slot);
    // validUntil first: a reader that sees the new fence also sees a time that belongs to it or a later one.
    Atomics.store(this.words, at + 1, BigInt(Math.floor(validUntil * MICROS)));
    Atomics.store(this.words, at, BigInt(fence));
  }

  /** This instance no longer holds `slot`. */
  clear(slot: number): void {
    const at = index(slot);
    Atomics.store(this.words, at + 1, 0n);
    Atomics.store(this.words, at, 0n);
  }

  /** The fence this instance holds `slot` under, 0 when it holds none (whether or not still valid). */
  held(slot: number): number {
    return Number(Atomics.load(this.words, index(slot)));
  }

  /** When the lease of `slot` ends by monoNow(), 0 when none is held. */
  validUntil(slot: number): number {
    return Number(Atomics.load(this.words, index(slot) + 1)) / MICROS;
  }

  /** The fence of the app's slot, or null when this instance holds no lease on it. */
  fenceOf(appid: string): number | null {
    const fence = this.held(slotOf(appid));
    return fence === 0 ? null : fence;
  }

  /** Whether a WeChat call for `appid` may start now. */
  mayCall(appid: string, now: number = monoNow()): boolean {
    return this.callFence(appid, now) !== null;
  }

  /**
   * How long a WeChat call for `appid` starting now may take: until the
   * lease ends; 0 when none may start (as mayCall). A renewal between the
   * two reads only makes the answer later; a loss makes it 0 or less.
   */
  callBudgetMs(appid: string, now: number = monoNow()): number {
    const slot = slotOf(appid);
    return this.slotCallFence(slot, now) === null ? 0 : this.validUntil(slot) - now;
  }

  /**
   * The fence to carry on the writes of a call for `appid` started now, or
   * null when no call may start: one read of the slot for both answers, so
   * that the call cannot be allowed under one lease and written under the next.
   */
  callFence(appid: string, now: number = monoNow()): number | null {
    return this.slotCallFence(slotOf(appid), now);
  }

  /** callFence for a slot. */
  slotCallFence(slot: number, now: number = monoNow()): number | null {
    const at = index(slot);
    const fence = Number(Atomics.load(this.words, at));
    if (fence === 0) return null;
    const until = Number(Atomics.load(this.words, at + 1)) / MICROS;
    return until - this.marginMs > now ? fence : null;
  }

  /** Slots held (fence set), valid or not. */
  heldSlots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < SLOT_COUNT; s++) if (this.held(s) !== 0) out.push(s);
    return out;
  }
}

function index(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT)
    throw new RangeError(`slot ${slot} is not in 0..${SLOT_COUNT - 1}`);
  return HEADER_WORDS + 2 * slot;
}

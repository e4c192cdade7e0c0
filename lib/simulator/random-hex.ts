// Random hex for token values, drawn from one buffer refilled a few KB at a
// time: same CSPRNG and bytes per value as randomBytes(n) per call, without a
// Buffer and a call into OpenSSL for every token the simulator hands out.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/** `bytes` fresh random bytes (at most POOL_BYTES) as 2 × bytes hex characters. */
export function randomHex(bytes: number): string {
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

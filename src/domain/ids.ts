import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let seq = 0;

// Random bytes are drawn from the CSPRNG a pool at a time: one call per id cost more than the rest of the id (an import
// makes one id per item).
const POOL = Buffer.alloc(8 * 512);
let poolOffset = POOL.length;

function random8(): number {
  if (poolOffset >= POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 8;
  return at;
}

/**
 * A time-ordered id in the UUID version 7 layout (48-bit milliseconds, 12-bit sequence, 62 random bits), as text.
 * Rows keyed by it land at the right edge of their index, which keeps bulk imports fast on large tables.
 */
export function newId(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    seq = 0;
  }
  const at = random8();
  const hex = ms.toString(16).padStart(12, '0');
  const rand = POOL.toString('hex', at, at + 8);
  const variant = ((POOL[at]! & 0x3f) | 0x80).toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${seq.toString(16).padStart(3, '0')}-${variant}${rand.slice(2, 4)}-${rand.slice(4, 16)}`;
}

/**
 * A 53-bit non-cryptographic string hash (two FNV-1a lanes with a murmur3 finalizer), so that series
 * and label values can be counted as numbers in a `Set` instead of holding their text. Collisions are
 * about 1 in 2^53 per pair: negligible for counting series.
 */
export function hash53(s: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = fmix32(a ^ s.length);
  b = fmix32(b ^ Math.imul(a, 0x27d4eb2d));
  return (b & 0x1fffff) * 0x100000000 + (a >>> 0);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

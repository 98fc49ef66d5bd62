// mulberry32: a tiny seeded PRNG, uniform in [0, 1). Shared by the client
// scripts (plain node) and the tests (through assert-helpers.ts), so a seed
// means the same inputs everywhere.

/** @param {number} seed @returns {() => number} */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The fuzz client's only source of randomness: every input is drawn from it
// in a fixed order, so a seed (and client number) replays exactly.
import { seededRandom } from './seeded-random.mjs';
import { CLIENT, SEED } from './fuzz-args.mjs';

const random = seededRandom((SEED ^ Math.imul(CLIENT + 1, 0x9e3779b1)) >>> 0);
export const int = (n) => Math.floor(random() * n);
export const chance = (p) => random() < p;
export const pick = (list) => list[int(list.length)];
export const u32 = () => BigInt(int(0x10000)) << 16n | BigInt(int(0x10000));
export function shuffle(list) {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
/** Weighted choice: [[weight, value], ...]. */
export function weighted(table) {
  let total = 0;
  for (const [w] of table) total += w;
  let r = random() * total;
  for (const [w, v] of table) {
    if ((r -= w) < 0) return v;
  }
  return table[table.length - 1][1];
}

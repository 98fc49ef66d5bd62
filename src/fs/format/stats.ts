// The stats files: every statistic of a KVM binary stats fd on one line,
// its name and its value(s), a histogram's buckets in order.
import type { Stat } from '../../backend/controller-types.js';
import { hex } from './numbers.js';

export function renderStats(stats: Stat[]): string {
  return stats.map(({ name, values }) => `${name} ${values.map((value) => hex(value, 16)).join(' ')}\n`).join('');
}

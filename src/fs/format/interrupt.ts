// The vcpu's interrupt file: a write is one vector for KVM_INTERRUPT.
import { FormatError, shorten } from './errors.js';
import { parseU64 } from './numbers.js';

/** One vector 0..255, hex or decimal, whitespace (the newline of echo) around it allowed. */
export function parseInterrupt(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new FormatError('no vector given');
  const vector = parseU64(trimmed);
  if (vector > 255n) throw new FormatError(`vector ${shorten(trimmed)} out of range 0..255`);
  return Number(vector);
}

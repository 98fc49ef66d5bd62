// Numbers as the files write them (0x hex, zero-padded) and as users may
// write them back: 0x hex or plain decimal, unsigned, nothing else.
import { FormatError, quote, shorten } from './errors.js';

const HEX = /^0[xX]([0-9a-fA-F]+)$/;
const DECIMAL = /^([0-9]+)$/;

/**
 * Parses an unsigned number of at most `bits` bits: `0x`/`0X` hex or decimal
 * (leading zeros are decimal, never octal). No sign, no whitespace, no
 * separators, no exponent.
 */
export function parseUint(text: string, bits: number): bigint {
  const hex = HEX.exec(text);
  const digits = hex?.[1] ?? DECIMAL.exec(text)?.[1];
  if (digits === undefined) throw new FormatError(`bad number ${quote(text)}`);
  // Refuse absurdly long numbers before BigInt spends time on them.
  const significant = digits.replace(/^0+/, '').length;
  const maxDigits = hex ? Math.ceil(bits / 4) : Math.ceil(bits * Math.log10(2));
  const value = significant > maxDigits ? undefined : BigInt(hex ? `0x${digits}` : digits);
  if (value === undefined || value >> BigInt(bits) !== 0n) {
    throw new FormatError(`value ${shorten(text)} out of range for ${bits} bit${bits === 1 ? '' : 's'}`);
  }
  return value;
}

export function parseU64(text: string): bigint {
  return parseUint(text, 64);
}

/** `0x` and `value` in lowercase hex, zero-padded to at least `digits` digits. */
export function hex(value: bigint | number, digits: number): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}

// Helpers shared by the vcpu state e2e suites: one write(2) of a text to a
// vcpu file, the exit lines of a run, and "this write is refused, changes
// nothing and says why in last_error".
import { expect } from 'vitest';
import type { Mount } from './harness.js';
import { fails, PRINTF, q } from './assert-helpers.js';

/** `text` written to vcpu0/`file` of `vm` with one write(2). */
export function writeOnce(mount: Mount, vm: string, file: string, text: string): Promise<string> {
  return mount.ok(`${PRINTF} %s ${q(text)} > "$M/${vm}/vcpu0/${file}"`);
}

export function readFile(mount: Mount, vm: string, file: string): Promise<string> {
  return mount.ok(`cat "$M/${vm}/vcpu0/${file}"`);
}

/** `count` runs of vcpu0, one exit line each. */
export async function runs(mount: Mount, vm: string, count: number): Promise<string[]> {
  const out = await mount.ok(`for i in $(seq ${count}); do cat "$M/${vm}/vcpu0/run"; done`);
  return out.trimEnd().split('\n');
}

/** The `data` of an `io out` exit line. */
export function outData(line: string): bigint {
  const match = /^io out port=0x00e9 size=\d count=1 data=(0x[0-9a-f]+)$/.exec(line);
  if (!match) throw new Error(`not an io out to 0xe9: ${line}`);
  return BigInt(match[1]!);
}

/**
 * A write of `text` to vcpu0/`file` fails with `errnoText`, leaves the file
 * as it was (after `stable`, which drops what KVM changes by itself), and
 * last_error is one line `vcpu0/<file>: <reason>`.
 */
export async function refused(mount: Mount, vm: string, file: string, text: string, reason: RegExp,
  options: { errnoText?: string; stable?: (text: string) => string } = {}): Promise<void> {
  const stable = options.stable ?? ((t: string) => t);
  const before = stable(await readFile(mount, vm, file));
  await fails(mount, `${PRINTF} %s ${q(text)} > "$M/${vm}/vcpu0/${file}"`, options.errnoText ?? 'Invalid argument');
  expect(stable(await readFile(mount, vm, file))).toBe(before);
  const error = await mount.ok(`cat "$M/${vm}/last_error"`);
  expect(error.split('\n')).toHaveLength(2);
  expect(error.startsWith(`vcpu0/${file}: `), error).toBe(true);
  expect(error.slice(`vcpu0/${file}: `.length, -1)).toMatch(reason);
}

/** 128-bit value as the 16 little-endian bytes the guest stores. */
export function le128(value: bigint): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64LE(value & 0xffffffffffffffffn, 0);
  bytes.writeBigUInt64LE(value >> 64n, 8);
  return bytes;
}

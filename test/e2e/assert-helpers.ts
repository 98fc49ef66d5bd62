// Small helpers shared by the e2e suites: shell quoting, "this script must
// fail with that message", scratch directories outside the mount, and a
// seeded PRNG so "random" data is the same on every run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Mount, ShellResult } from './harness.js';

/** `text` as one single-quoted shell word. */
export function q(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * coreutils printf: one write(2) for its whole output. bash's builtin printf
 * and echo write line by line when stdout is a file, so a multi-line
 * builtin printf into regs is several writes, i.e. several changes.
 */
export const PRINTF = 'env printf';

/** Runs `script`, which must exit non-zero with `message` (e.g. "Invalid argument") on stderr. */
export async function fails(mount: Mount, script: string, message: string | RegExp): Promise<ShellResult> {
  const result = await mount.sh(script);
  expect(result.code, `expected failure of: ${script}\nstdout: ${result.stdout}`).not.toBe(0);
  if (typeof message === 'string') expect(result.stderr).toContain(message);
  else expect(result.stderr).toMatch(message);
  return result;
}

/** A scratch directory outside the mount, for files to compare against. */
export function scratchDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kvmfs-e2e-scratch-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export { seededRandom } from './clients/seeded-random.mjs';

/** `length` bytes from `random`. */
export function randomBytes(random: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** `name value` lines as a map (regs, cr lines of sregs). */
export function nameValueLines(text: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    const space = line.indexOf(' ');
    lines.set(line.slice(0, space), line.slice(space + 1));
  }
  return lines;
}

/** The lines of a command's output, without the final newline. */
export const lines = (text: string): string[] => text.trimEnd().split('\n');

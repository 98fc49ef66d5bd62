// Run instead of the end-to-end suites where /dev/kvm is missing (see
// vitest.config.ts): each suite is reported as skipped, with why, so a
// machine without KVM never passes them silently.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { kvmFreeSuites } from './e2e/kvm-free.js';

const e2e = join(import.meta.dirname, 'e2e');
const suites = readdirSync(e2e).filter((name) => name.endsWith('.test.ts') && !kvmFreeSuites.includes(name)).sort();

const reason = '/dev/kvm is missing on this machine, so no end-to-end suite can run here; run them where KVM is, or in an emulated VM with test/vm/vm-test';
process.stderr.write(`\n*** SKIPPED: ${suites.length} end-to-end suites: ${reason}\n\n`);

describe(`end-to-end suites: SKIPPED (${reason})`, () => {
  for (const suite of suites) it.skip(`test/e2e/${suite}`, () => {});
});

import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { kvmFreeSuites } from './test/e2e/kvm-free.js';

/**
 * The end-to-end suites need /dev/kvm. Where it is missing (a KVM guest
 * whose host offers no nested KVM) they cannot run: test/no-kvm.test.ts
 * then lists each of them as skipped, with the reason, instead
 * (test/vm/vm-test runs them in an emulated VM that has KVM).
 */
const kvm = existsSync('/dev/kvm');
const withoutKvm = ['test/unit/**/*.test.ts', 'test/no-kvm.test.ts', ...kvmFreeSuites.map((suite) => `test/e2e/${suite}`)];

export default defineConfig({
  test: {
    include: kvm ? ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'] : withoutKvm,
    // End-to-end suites each mount their own kvmfs; run files one at a time
    // so two daemons never compete for the machine's two cores.
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

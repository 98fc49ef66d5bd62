// The end-to-end suites that need no /dev/kvm (they mount a FUSE session of
// their own over a test file system): they run everywhere, the rest only
// where KVM is (vitest.config.ts, test/no-kvm.test.ts).
export const kvmFreeSuites = ['fuse-layer.test.ts'];

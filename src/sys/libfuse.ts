// Where the libfuse.so.2 that fuse-native bundles is: kvmfs mounts with it
// (its fuse_mount), and the benchmark's C floor links against it, so no
// system FUSE package is needed.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export function bundledLibfusePath(): string {
  return join(dirname(require.resolve('fuse-native/package.json')), 'prebuilds', `${process.platform}-${process.arch}`, 'libfuse.so');
}

// Builds the benchmark's C programs (native/floor.c, native/client.c) with
// the machine's gcc, against the libfuse fuse-native bundles.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledLibfusePath } from '../sys/libfuse.js';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const sources = resolve(here, '..', '..', 'src', 'bench', 'native');

export interface NativeTools {
  floor: string;
  client: string;
}

export function buildNativeTools(outDir: string): NativeTools {
  mkdirSync(outDir, { recursive: true });
  const bundled = bundledLibfusePath();
  const headers = join(dirname(require.resolve('fuse-shared-library-linux/package.json')), 'libfuse', 'include');
  // The bundled library's soname is libfuse.so.2; give the linker and the
  // loader that name next to the binaries.
  const soname = join(outDir, 'libfuse.so.2');
  if (!existsSync(soname)) symlinkSync(bundled, soname);
  const floor = join(outDir, 'floor');
  const client = join(outDir, 'client');
  execFileSync('gcc', ['-O2', '-Wall', '-D_FILE_OFFSET_BITS=64', `-I${headers}`, join(sources, 'floor.c'), '-o', floor, soname, `-Wl,-rpath,${outDir}`, '-lpthread']);
  execFileSync('gcc', ['-O2', '-Wall', join(sources, 'client.c'), '-o', client, '-lpthread']);
  return { floor, client };
}

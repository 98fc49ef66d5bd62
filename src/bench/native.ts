// Builds the benchmark's C programs with the machine's gcc: the FUSE over
// io_uring floor (native/uring-floor.c, no library), the libfuse 2 floor
// (native/floor.c, against the libfuse fuse-native bundles) and the client.
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
  uringFloor: string;
  libfuseFloor: string;
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
  const source = (...names: string[]) => names.map((name) => join(sources, name));
  const tools = { uringFloor: join(outDir, 'uring-floor'), libfuseFloor: join(outDir, 'floor'), client: join(outDir, 'client') };
  execFileSync('gcc', ['-O2', '-Wall', ...source('uring-floor.c', 'floor-files.c', 'exit-guest.c'), '-o', tools.uringFloor, '-lpthread']);
  execFileSync('gcc', ['-O2', '-Wall', '-D_FILE_OFFSET_BITS=64', `-I${headers}`, ...source('floor.c', 'exit-guest.c'), '-o', tools.libfuseFloor, soname, `-Wl,-rpath,${outDir}`, '-lpthread']);
  execFileSync('gcc', ['-O2', '-Wall', ...source('client.c'), '-o', tools.client, '-lpthread']);
  return tools;
}

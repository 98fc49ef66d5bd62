// The layers, kept by the imports: src/sys (libc, shared-memory helpers)
// at the bottom; src/backend (KVM) over it, knowing nothing of files;
// src/fs over both, where fuse/ is the transport and knows nothing of KVM or
// of text formats, and format/ is pure; src/cli on top. Also: every source
// file at most MAX_LINES lines. The check reads the sources, so it fails as
// soon as an import crosses a layer.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');
const MAX_LINES = 300;

/** [layer (a folder under src), folders it must not import from, why] */
const RULES: Array<[string, string[], string]> = [
  ['sys', ['backend', 'fs', 'cli', 'bench'], 'src/sys is the bottom layer'],
  ['backend', ['fs', 'cli', 'bench'], 'the backend knows nothing of files'],
  ['fs/fuse', ['backend', 'fs/format', 'fs/files', 'cli', 'bench'], 'the FUSE layer knows only FUSE (files reach reader threads through the module the session is given)'],
  ['fs/format', ['fs/files', 'fs/fuse', 'sys', 'cli', 'bench'], 'formats are pure render/parse functions'],
  ['fs', ['cli', 'bench'], 'the file system knows nothing of the CLI'],
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The src-relative paths `file` imports (static, dynamic and type imports, and re-exports), resolved. */
export function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((match) => match[1]!);
  return specifiers.filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(SRC, resolve(dirname(file), specifier)).replace(/\.js$/, '.ts'));
}

/** The rule an import from `from` (src-relative) to `to` breaks, if any. */
export function crossing(from: string, to: string): string | undefined {
  for (const [layer, forbidden, why] of RULES) {
    if (!from.startsWith(`${layer}/`)) continue;
    const hit = forbidden.find((folder) => to.startsWith(`${folder}/`));
    if (hit) return `${from} imports ${to}: ${why}`;
  }
  return undefined;
}

describe('layers', () => {
  it.each<[string, string, boolean]>([
    ['fs/fuse/session.ts', 'backend/shared-vcpu.ts', true],
    ['fs/fuse/dispatch.ts', 'fs/format/regs.ts', true],
    ['fs/fuse/pool.ts', 'fs/files/off-thread.ts', true],
    ['backend/hypervisor.ts', 'fs/errors.ts', true],
    ['sys/libc.ts', 'backend/types.ts', true],
    ['fs/format/regs.ts', 'sys/libc.ts', true],
    ['fs/fuse/registry.ts', 'fs/node.ts', false],
    ['fs/fuse/channel.ts', 'sys/libc.ts', false],
    ['fs/files/vcpu.ts', 'backend/shared-vcpu.ts', false],
    ['backend/run-watchdog.ts', 'sys/activity.ts', false],
  ])('the rule catches %s -> %s: %s', (from, to, crosses) => {
    expect(crossing(from, to) !== undefined).toBe(crosses);
  });

  it('the import scan sees static, type, dynamic and re-export imports', () => {
    const file = join(SRC, 'fs/fuse/x.ts');
    const text = "import { a } from './a.js';\nimport type { B } from '../../backend/b.js';\nexport * from '../format/c.js';\nawait import('../files/d.js');\nimport './e.js';\n";
    expect(importsOf(file, text)).toEqual(['fs/fuse/a.ts', 'backend/b.ts', 'fs/format/c.ts', 'fs/files/d.ts', 'fs/fuse/e.ts']);
  });

  it('no source file imports across a layer', () => {
    const crossings = sources(SRC).flatMap((file) => {
      const from = relative(SRC, file);
      return importsOf(file, readFileSync(file, 'utf8')).map((to) => crossing(from, to)).filter((line) => line !== undefined);
    });
    expect(crossings).toEqual([]);
  });

  it(`every source file has at most ${MAX_LINES} lines`, () => {
    const long = sources(SRC)
      .map((file) => [relative(ROOT, file), readFileSync(file, 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});

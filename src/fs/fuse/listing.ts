// READDIR: a directory's entries as the kernel wants them, "." and ".."
// first, each with the node id the kernel holds for it (if any).
import type { Filesystem } from './filesystem.js';
import { childPath, type NodeTable } from './nodes.js';
import { DT_DIR, DT_REG, type DirEntry } from './replies.js';

const S_IFDIR = 0o040000;
/** d_ino of a directory entry the kernel has not looked up yet (some tools skip entries with 0) */
const UNKNOWN_INO = 0xffffffff;

export function listing(fs: Filesystem, nodes: NodeTable, path: string): DirEntry[] {
  const entry = (name: string, entryPath: string): DirEntry => ({
    ino: nodes.peek(entryPath) ?? UNKNOWN_INO,
    name: Buffer.from(name),
    type: fs.getattr(entryPath).mode & S_IFDIR ? DT_DIR : DT_REG,
  });
  const parent = path === '/' ? '/' : path.slice(0, path.lastIndexOf('/')) || '/';
  return [
    { ino: nodes.peek(path) ?? UNKNOWN_INO, name: Buffer.from('.'), type: DT_DIR },
    { ino: nodes.peek(parent) ?? UNKNOWN_INO, name: Buffer.from('..'), type: DT_DIR },
    ...fs.readdir(path).map((name) => entry(name, childPath(path, name))),
  ];
}

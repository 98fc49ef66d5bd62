// FUSE names nodes by number; kvmfs's operations take paths. Since nothing
// in kvmfs is ever renamed, a node id stands for one path for as long as
// the kernel remembers it (its lookup count), as in libfuse's high-level API.
import { ROOT_ID } from './protocol.js';

interface Node {
  path: string;
  lookups: number;
}

export class NodeTable {
  private readonly byId = new Map<number, Node>([[ROOT_ID, { path: '/', lookups: 1 }]]);
  private readonly byPath = new Map<string, number>([['/', ROOT_ID]]);
  private nextId = ROOT_ID + 1;

  /** The path of a node the kernel holds, or undefined if it forgot it. */
  path(id: number): string | undefined {
    return this.byId.get(id)?.path;
  }

  /** The id of `path`, if the kernel holds it. */
  peek(path: string): number | undefined {
    return this.byPath.get(path);
  }

  /** A successful LOOKUP (or MKDIR) of `path`: the kernel now holds one more reference. */
  lookup(path: string): number {
    const known = this.byPath.get(path);
    if (known !== undefined) {
      this.byId.get(known)!.lookups++;
      return known;
    }
    const id = this.nextId++;
    this.byId.set(id, { path, lookups: 1 });
    this.byPath.set(path, id);
    return id;
  }

  /** FORGET: the kernel dropped `lookups` references. */
  forget(id: number, lookups: number): void {
    const node = this.byId.get(id);
    if (!node || id === ROOT_ID) return;
    node.lookups -= lookups;
    if (node.lookups <= 0) {
      this.byId.delete(id);
      this.byPath.delete(node.path);
    }
  }

  get size(): number {
    return this.byId.size;
  }
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

// The files FUSE reader threads serve themselves (OffThread in node.ts),
// by factory name: a reader thread imports this module (the session is
// given its URL) and builds each file here, with the same code the main
// thread's tree uses. A file joins by saying offThread in its own module
// and listing its factory there.
import type { PseudoFile } from '../node.js';
import { vcpuOffThreadFiles } from './vcpu.js';
import { vmOffThreadFiles } from './vm.js';
import { systemOffThreadFiles } from './system.js';

const factories: Record<string, (share: never) => PseudoFile> = { ...vcpuOffThreadFiles, ...vmOffThreadFiles, ...systemOffThreadFiles };

/** The file `factory` builds on this thread from `share`. */
export function attach(factory: string, share: unknown): PseudoFile {
  const build = factories[factory];
  if (!build) throw new Error(`no file is served off the main thread as ${JSON.stringify(factory)}`);
  return build(share as never);
}

/** This module, for the session to hand to its reader threads. */
export const offThreadModule = import.meta.url;

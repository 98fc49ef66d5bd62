// kvmfs restore: makes a new VM in a mount from a save (and the saves it was
// taken since), writing its files back in the order KVM needs
// (state-files.ts). The save is checked whole first; if the mount then
// refuses a step, the half-made VM is removed and the error names the step.
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { applyImage } from './memory-image.js';
import { errorCode, lastErrorNote, nodeMountFiles, reason, ToolError, type MountFiles } from './mount-files.js';
import { MEMORY_IMAGE, readRanges, saveChain, type SaveDir } from './save-dir.js';
import { isNothing, restorePlan, type RestoreStep } from './state-files.js';
import type { Range } from './manifest.js';

export interface RestoreOptions {
  saveDir: string;
  vmDir: string;
  files?: MountFiles;
}

export interface RestoreResult {
  /** The saves applied, oldest first. */
  chain: SaveDir[];
  /** Files the save lacks (it was made with --partial): the new VM keeps KVM's defaults for them. */
  missing: string[];
}

export function restore(options: RestoreOptions): RestoreResult {
  const files = options.files ?? nodeMountFiles;
  const vmDir = resolve(options.vmDir);
  const chain = saveChain(resolve(options.saveDir));
  const images = chain.map((save): [SaveDir, Range[]] => [save, readRanges(save)]);
  const top = chain[chain.length - 1]!;
  const contents = new Map<string, Buffer>();
  for (const path of top.manifest.saved) {
    try {
      contents.set(path, readFileSync(join(top.dir, path)));
    } catch (error) {
      throw new ToolError(`${top.dir}: the manifest lists ${path}, but it cannot be read: ${reason(error)}`);
    }
  }
  const toWrite = new Set([...contents].filter(([, content]) => !isNothing(content)).map(([path]) => path));

  const mount = dirname(vmDir);
  if (!files.exists(join(mount, 'api_version'))) throw new ToolError(`${mount} is not a kvmfs mount (no api_version): restore makes a VM directory in one`);
  try {
    files.mkdir(vmDir);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') throw new ToolError(`${vmDir} already exists: restore makes a new VM; give a new name (or rmdir it first)`);
    throw new ToolError(`cannot make the VM ${vmDir}: ${reason(error)}${lastErrorNote(files, join(mount, 'last_error'))}`);
  }

  let step: RestoreStep | undefined;
  try {
    for (step of restorePlan(top.manifest.vcpus, toWrite)) {
      const at = (path: string) => join(vmDir, path);
      switch (step.kind) {
        case 'mkdir': files.mkdir(at(step.path)); break;
        case 'write': writeIfChanged(files, at(step.path), contents.get(step.path)!, step.linewise); break;
        case 'create-pit': files.write(at('pit'), Buffer.from('create\n')); break;
        case 'memory': restoreMemory(files, at('memory'), top.manifest.memorySize, images); break;
      }
    }
  } catch (error) {
    const why = `${reason(error)}${lastErrorNote(files, join(vmDir, 'last_error'))}`;
    let removed = `; ${basename(vmDir)} was removed`;
    try {
      files.rmdir(vmDir);
    } catch (rmdirError) {
      removed = `; removing ${vmDir} failed too (${reason(rmdirError)}): rmdir it by hand`;
    }
    throw new ToolError(`restore of ${top.dir} stopped at ${describe(step)}: ${why}${removed}`);
  }
  return { chain, missing: top.manifest.missing };
}

/**
 * Writes `content` unless the file already shows it: a write that would
 * change nothing is left out, and of a `linewise` file only the lines it
 * does not show yet are written. Besides saving ioctls, this spares KVM
 * settings it takes only once (kvmfs sets tss_addr itself when it makes a
 * VM, and KVM_SET_TSS_ADDR may refuse a second call: EEXIST) or never takes
 * back (see VCPU_FILES).
 */
function writeIfChanged(files: MountFiles, path: string, content: Buffer, linewise: boolean): void {
  let current: Buffer | undefined;
  try {
    current = files.read(path);
  } catch {
    current = undefined; // not readable now (a PIT not made yet): the write says what is wrong, if anything
  }
  if (current?.equals(content)) return;
  if (linewise && current) {
    const shown = new Set(current.toString('utf8').split('\n'));
    const lines = content.toString('utf8').split('\n').filter((line) => line.trim() !== '' && !shown.has(line));
    if (lines.length === 0) return;
    files.write(path, Buffer.from(`${lines.join('\n')}\n`));
    return;
  }
  files.write(path, content);
}

/** Memory's size first (it only grows), then each save's pages, oldest first, so later pages win. */
function restoreMemory(files: MountFiles, memoryPath: string, size: number, images: Array<[SaveDir, Range[]]>): void {
  if (size === 0) return;
  files.truncate(memoryPath, size);
  const memory = files.open(memoryPath, true);
  try {
    for (const [save, ranges] of images) applyImage(join(save.dir, MEMORY_IMAGE), ranges, memory);
  } finally {
    memory.close();
  }
}

function describe(step: RestoreStep | undefined): string {
  switch (step?.kind) {
    case 'mkdir': return `mkdir ${step.path}`;
    case 'write': return `writing ${step.path}`;
    case 'create-pit': return 'writing "create" to pit';
    case 'memory': return 'writing memory';
    default: return 'the start';
  }
}

// kvmfs save: copies a VM's state files and memory out of the mount into an
// ordinary directory laid out like the VM's own (state files at the top,
// vcpu<N>/ for each vcpu), plus a manifest and the sparse memory image.
//
// The dirty_log rule: every save reads the VM's dirty_log exactly once,
// before anything else (a read at offset 0 fetches and clears it). So a
// save is the baseline of the next, and `--since <dir>` copies the pages the
// guest wrote since that save's read, provided <dir> is the last save of the
// VM and nothing else read dirty_log in between.
import { mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, resolve } from 'node:path';
import { FORMAT_VERSION, PAGE_SIZE, pageCount, renderManifest, renderRanges, type Manifest } from './manifest.js';
import { dirtyRanges, writeImage } from './memory-image.js';
import { lastErrorNote, nodeMountFiles, reason, ToolError, type MountFiles } from './mount-files.js';
import { MANIFEST, MEMORY_IMAGE, MEMORY_RANGES, readSaveDir } from './save-dir.js';
import { isNothing, NONE, VCPU_FILES, VM_FILES, vcpuIndexes, vcpuName } from './state-files.js';

export interface SaveOptions {
  vmDir: string;
  saveDir: string;
  /** The VM's previous save: keep only the pages written since. */
  since?: string;
  /** Save what the mount has, listing the files it lacks, instead of failing. */
  partial?: boolean;
  files?: MountFiles;
}

export interface SaveResult {
  manifest: Manifest;
  /** Pages written into the image (all-zero ones stay holes). */
  pagesWritten: number;
}

export function save(options: SaveOptions): SaveResult {
  const files = options.files ?? nodeMountFiles;
  const vmDir = resolve(options.vmDir);
  const target = resolve(options.saveDir);
  if (!files.exists(join(vmDir, 'memory')) || !files.exists(join(vmDir, 'dirty_log'))) {
    throw new ToolError(`${vmDir} is not a kvmfs VM directory (it has no memory and dirty_log)`);
  }
  const base = options.since === undefined ? undefined : readSaveDir(resolve(options.since));
  if (base && base.manifest.vm !== vmDir) throw new ToolError(`--since ${base.dir} is a save of ${base.manifest.vm}, not of ${vmDir}`);
  checkTarget(target);
  const work = `${target}.partial-${process.pid}`;
  mkdirSync(work);
  try {
    const result = saveInto(files, vmDir, work, base && { dir: base.dir, manifest: base.manifest }, options.partial ?? false, target);
    if (statSync(target, { throwIfNoEntry: false })) rmdirSync(target); // checked empty above
    renameSync(work, target);
    return result;
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/** The save goes to a new directory, or an empty one, never over files. */
function checkTarget(target: string): void {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (stat && (!stat.isDirectory() || readdirSync(target).length > 0)) {
    throw new ToolError(`${target} already exists and is not an empty directory: save into a new one`);
  }
  if (!statSync(dirname(target), { throwIfNoEntry: false })?.isDirectory()) {
    throw new ToolError(`${dirname(target)} is not a directory: cannot save into ${target}`);
  }
}

function saveInto(files: MountFiles, vmDir: string, work: string, base: { dir: string; manifest: Manifest } | undefined, partial: boolean, target: string): SaveResult {
  const lastError = () => lastErrorNote(files, join(vmDir, 'last_error'));
  const read = (path: string): Buffer => {
    try {
      return files.read(join(vmDir, path));
    } catch (error) {
      throw new ToolError(`cannot read ${path}: ${reason(error)}${lastError()}`);
    }
  };
  // What to copy, and whether the mount has it all, before dirty_log is read:
  // a save refused here leaves the baseline where it was.
  const vcpus = vcpuIndexes(files.list(vmDir)).filter((n) => files.isDirectory(join(vmDir, vcpuName(n))));
  const wanted = [
    ...VM_FILES.map((file) => ({ file, path: file.name })),
    ...vcpus.flatMap((n) => VCPU_FILES.map((file) => ({ file, path: `${vcpuName(n)}/${file.name}` }))),
  ];
  const missing = wanted.filter(({ path }) => !files.exists(join(vmDir, path))).map(({ path }) => path);
  if (missing.length > 0 && !partial) {
    throw new ToolError(`the mount does not serve ${missing.join(', ')} (in ${vmDir}): nothing was saved; \`kvmfs save --partial\` saves the rest and lists these in the manifest`);
  }
  // Without an irqchip the chips' files have no state to show (KVM: ENXIO).
  const noIrqchip = !missing.includes('irqchip') && isNothing(read('irqchip'));
  const memory = files.open(join(vmDir, 'memory'), false);
  try {
    const memorySize = memory.size();
    if (base && base.manifest.memorySize > memorySize) throw new ToolError(`--since ${base.dir} saved more memory than ${vmDir} has: not an earlier save of this VM`);

    // dirty_log once, first of the state: the baseline of the next increment.
    const bitmap = read('dirty_log');
    try {
      const saved: string[] = [];
      for (const n of vcpus) mkdirSync(join(work, vcpuName(n)));
      for (const { file, path } of wanted) {
        if (missing.includes(path)) continue;
        writeFileSync(join(work, path), file.needsIrqchip && noIrqchip ? `${NONE}\n` : read(path));
        saved.push(path);
      }
      const image = writeImage(memory, memorySize, join(work, MEMORY_IMAGE), base ? dirtyRanges(bitmap, memorySize / PAGE_SIZE) : undefined);
      writeFileSync(join(work, MEMORY_RANGES), renderRanges(image.ranges));
      const manifest: Manifest = {
        format: FORMAT_VERSION,
        id: `0x${randomBytes(16).toString('hex')}`,
        vm: vmDir,
        memorySize,
        memoryPages: pageCount(image.ranges),
        vcpus,
        ...(base ? { since: { path: relative(target, base.dir), id: base.manifest.id } } : {}),
        saved,
        missing,
      };
      writeFileSync(join(work, MANIFEST), renderManifest(manifest));
      return { manifest, pagesWritten: image.pagesWritten };
    } catch (error) {
      const why = error instanceof ToolError ? error.message : `cannot save: ${reason(error)}${lastError()}`;
      throw new ToolError(`${why}; dirty_log was read, so make the next save a full one (an increment since the save before would miss pages)`);
    }
  } finally {
    memory.close();
  }
}

// A save directory as restore (and save --since) reads it: the manifest, the
// memory image and its ranges, and the chain of earlier saves an increment
// stands on. Everything is checked before anything is done with it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FormatError } from '../../fs/format/errors.js';
import { parseManifest, parseRanges, type Manifest, type Range } from './manifest.js';
import { errorCode, reason, ToolError } from './mount-files.js';

export const MANIFEST = 'manifest';
export const MEMORY_IMAGE = 'memory';
export const MEMORY_RANGES = 'memory.ranges';

/** Chains longer than this are surely a loop of `since` paths. */
const MAX_CHAIN = 1000;

export interface SaveDir {
  dir: string;
  manifest: Manifest;
}

function readText(dir: string, name: string, what: string): string {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new ToolError(`${dir}: not a kvmfs save (no ${name}${what})`);
    throw new ToolError(`${dir}: cannot read ${name}: ${reason(error)}`);
  }
}

function parsed<T>(dir: string, name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof FormatError) throw new ToolError(`${dir}: bad ${name}: ${error.message}`);
    throw error;
  }
}

export function readSaveDir(dir: string): SaveDir {
  const text = readText(dir, MANIFEST, '');
  return { dir, manifest: parsed(dir, MANIFEST, () => parseManifest(text)) };
}

/** The ranges of a save's memory image, after checking the image is there and as large as the memory saved. */
export function readRanges(save: SaveDir): Range[] {
  const text = readText(save.dir, MEMORY_RANGES, '');
  const ranges = parsed(save.dir, MEMORY_RANGES, () => parseRanges(text, save.manifest.memorySize));
  const image = statSync(join(save.dir, MEMORY_IMAGE), { throwIfNoEntry: false });
  if (!image?.isFile()) throw new ToolError(`${save.dir}: not a kvmfs save (no ${MEMORY_IMAGE} image)`);
  if (image.size !== save.manifest.memorySize) {
    throw new ToolError(`${save.dir}: ${MEMORY_IMAGE} is ${image.size} bytes, the manifest says memory_size ${save.manifest.memorySize}`);
  }
  return ranges;
}

/**
 * The save at `dir` and the saves it was taken since, oldest (the full save)
 * first. Each `since` must still be the save the increment was taken on (its id).
 */
export function saveChain(dir: string): SaveDir[] {
  const chain = [readSaveDir(dir)];
  for (let save = chain[0]!; save.manifest.since; save = chain[0]!) {
    if (chain.length >= MAX_CHAIN) throw new ToolError(`${dir}: more than ${MAX_CHAIN} saves in its since chain (a loop?)`);
    const baseDir = resolve(save.dir, save.manifest.since.path);
    if (!existsSync(baseDir)) throw new ToolError(`${save.dir}: was saved since ${baseDir}, which is gone (restore needs the whole chain)`);
    const base = readSaveDir(baseDir);
    if (base.manifest.id !== save.manifest.since.id) {
      throw new ToolError(`${save.dir}: was saved since a save with id ${save.manifest.since.id}, but ${baseDir} is ${base.manifest.id} (replaced since?)`);
    }
    if (base.manifest.memorySize > save.manifest.memorySize) {
      throw new ToolError(`${save.dir}: its memory (${save.manifest.memorySize} bytes) is smaller than that of the save it was taken since (${base.manifest.memorySize})`);
    }
    chain.unshift(base);
  }
  return chain;
}

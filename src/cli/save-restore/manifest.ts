// A save's own files, as text a person can read: the manifest (what was
// saved, from which VM, on top of which earlier save) and memory.ranges (which
// byte ranges of the sparse memory image hold saved pages). Pure render/parse.
import { hex, parseUint } from '../../fs/format/numbers.js';
import { atLine, FormatError, within } from '../../fs/format/errors.js';

export const FORMAT_VERSION = 1;
export const PAGE_SIZE = 4096;

export interface Manifest {
  format: number;
  /** Random, 128-bit: names this save, so that an increment can check its base is the one it was taken on. */
  id: string;
  /** Absolute path of the VM directory saved. */
  vm: string;
  memorySize: number;
  /** Pages memory.ranges covers. */
  memoryPages: number;
  vcpus: number[];
  /** The earlier save this one holds only the changed pages of, relative to this save's directory. */
  since?: { path: string; id: string };
  /** Files saved, relative to the save (vcpu0/regs). */
  saved: string[];
  /** Files the mount did not have (only with --partial). */
  missing: string[];
}

/** [gpa, bytes] of saved memory, page-aligned, ascending, not overlapping. */
export type Range = [number, number];

export function renderManifest(manifest: Manifest): string {
  return [
    `format ${manifest.format}`,
    `id ${manifest.id}`,
    `vm ${manifest.vm}`,
    `memory_size ${hex(manifest.memorySize, 16)}`,
    `memory_pages ${hex(manifest.memoryPages, 16)}`,
    `vcpus ${manifest.vcpus.join(' ')}`.trimEnd(),
    manifest.since ? `since ${manifest.since.path}` : 'since none',
    ...(manifest.since ? [`since_id ${manifest.since.id}`] : []),
    ...manifest.saved.map((path) => `saved ${path}`),
    ...manifest.missing.map((path) => `missing ${path}`),
  ].join('\n') + '\n';
}

const ID = /^0x[0-9a-f]{32}$/;

/** Parses a manifest; FormatError (with its line) on anything it does not know. */
export function parseManifest(text: string): Manifest {
  const fields = new Map<string, string>();
  const saved: string[] = [];
  const missing: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const space = line.indexOf(' ');
    const name = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1).trim();
    if (name === 'saved' || name === 'missing') {
      if (!isRelativePath(value)) throw new FormatError(`bad path "${value}"`, index + 1);
      (name === 'saved' ? saved : missing).push(value);
    } else if (!KNOWN.has(name)) {
      throw new FormatError(`unknown field "${name}"`, index + 1);
    } else if (fields.has(name)) {
      throw new FormatError(`"${name}" given twice`, index + 1);
    } else {
      fields.set(name, value);
    }
  });
  const field = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) throw new FormatError(`no "${name}" line`);
    return value;
  };
  const format = Number(field('format'));
  if (format !== FORMAT_VERSION) throw new FormatError(`format ${field('format')} (this kvmfs reads format ${FORMAT_VERSION})`);
  const id = field('id');
  if (!ID.test(id)) throw new FormatError(`bad id "${id}"`);
  const vcpuText = field('vcpus');
  const vcpus = within('vcpus', () => (vcpuText === '' ? [] : vcpuText.split(/\s+/).map((n) => Number(parseUint(n, 16)))));
  const sincePath = field('since');
  const since = sincePath === 'none' ? undefined : { path: sincePath, id: field('since_id') };
  if (since && !ID.test(since.id)) throw new FormatError(`bad since_id "${since.id}"`);
  return {
    format, id, vm: field('vm'), vcpus, saved, missing,
    memorySize: within('memory_size', () => Number(parseUint(field('memory_size'), 52))),
    memoryPages: within('memory_pages', () => Number(parseUint(field('memory_pages'), 52))),
    ...(since ? { since } : {}),
  };
}

const KNOWN = new Set(['format', 'id', 'vm', 'memory_size', 'memory_pages', 'vcpus', 'since', 'since_id']);

/** A path inside the save: no absolute path, no `..`, no empty part. */
function isRelativePath(path: string): boolean {
  return path !== '' && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

export function renderRanges(ranges: Range[]): string {
  return ranges.map(([gpa, length]) => `${hex(gpa, 16)} ${hex(length, 16)}\n`).join('');
}

/** Parses memory.ranges and checks each range is whole pages inside `memorySize`, ascending. */
export function parseRanges(text: string, memorySize: number): Range[] {
  const ranges: Range[] = [];
  let end = 0;
  text.split('\n').forEach((raw, index) => {
    const tokens = raw.trim().split(/\s+/).filter((token) => token !== '');
    if (tokens.length === 0) return;
    const line = index + 1;
    if (tokens.length !== 2) throw new FormatError('expected "<gpa> <length>"', line);
    const [gpa, length] = atLine(line, () => tokens.map((token) => Number(parseUint(token, 52)))) as [number, number];
    if (gpa % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0 || length === 0) throw new FormatError('not whole pages', line);
    if (gpa < end) throw new FormatError('ranges out of order or overlapping', line);
    if (gpa + length > memorySize) throw new FormatError(`range ends past memory_size ${hex(memorySize, 16)}`, line);
    end = gpa + length;
    ranges.push([gpa, length]);
  });
  return ranges;
}

export function pageCount(ranges: Range[]): number {
  return ranges.reduce((sum, [, length]) => sum + length / PAGE_SIZE, 0);
}

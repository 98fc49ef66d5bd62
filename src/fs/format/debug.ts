// The vcpu's debug file (KVM_SET_GUEST_DEBUG as last set) and translate
// file (KVM_TRANSLATE answers).
import {
  BREAKPOINT_LENGTHS, BREAKPOINT_TYPES, HW_BREAKPOINTS,
  type BreakpointLength, type GuestDebug, type HwBreakpoint, type Translation,
} from '../../backend/guest-debug.js';
import { FormatError, atLine, quote, within } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseU64 } from './numbers.js';

const HW_NAMES = Array.from({ length: HW_BREAKPOINTS }, (_, slot) => `hw${slot}`);
/** What a hwN line with only some fields starts from when the slot is off. */
const NEW_BREAKPOINT: HwBreakpoint = { addr: 0n, type: 'exec', length: 1 };

export function renderGuestDebug(debug: GuestDebug): string {
  const hw = debug.hw.map((bp, slot) => `${HW_NAMES[slot]} ${bp ? `addr=${hex(bp.addr, 16)} type=${bp.type} len=${bp.length}` : 'off'}\n`);
  return `singlestep ${Number(debug.singlestep)}\nsw_breakpoints ${Number(debug.swBreakpoints)}\n${hw.join('')}`;
}

/**
 * `current` with a write's lines applied: `singlestep 0|1`,
 * `sw_breakpoints 0|1`, `hwN off` or `hwN` with any of `addr= type= len=`
 * (the fields not named stay as they were; an off slot starts from
 * addr=0 type=exec len=1). Each name at most once; the whole write or nothing.
 */
export function applyGuestDebugText(current: GuestDebug, text: string): GuestDebug {
  const next: GuestDebug = { ...current, hw: [...current.hw] };
  const seen = new Set<string>();
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      if (seen.has(name)) throw new FormatError(`duplicate line ${name}`);
      seen.add(name);
      const slot = HW_NAMES.indexOf(name);
      if (name === 'singlestep') next.singlestep = parseFlag(name, rest);
      else if (name === 'sw_breakpoints') next.swBreakpoints = parseFlag(name, rest);
      else if (slot >= 0) next.hw[slot] = parseBreakpoint(name, rest, current.hw[slot] ?? NEW_BREAKPOINT);
      else throw new FormatError(`unknown setting ${quote(name)} (singlestep, sw_breakpoints, hw0..hw${HW_BREAKPOINTS - 1})`);
    });
  }
  return next;
}

function parseFlag(name: string, rest: string[]): boolean {
  if (rest.length !== 1 || (rest[0] !== '0' && rest[0] !== '1')) throw new FormatError(`${name}: expected 0 or 1`);
  return rest[0] === '1';
}

function parseBreakpoint(name: string, rest: string[], from: HwBreakpoint): HwBreakpoint | undefined {
  if (rest.length === 1 && rest[0] === 'off') return undefined;
  if (rest.length === 0) throw new FormatError(`${name}: expected off or addr= type= len=`);
  const bp = { ...from };
  const given = new Set<string>();
  for (const token of rest) {
    const [key, value] = splitField(name, token);
    if (given.has(key)) throw new FormatError(`${name}: duplicate field ${key}`);
    given.add(key);
    if (key === 'addr') bp.addr = within(`${name} addr`, () => parseU64(value));
    else if (key === 'type') bp.type = oneOf(`${name} type`, BREAKPOINT_TYPES, value);
    else if (key === 'len') bp.length = Number(oneOf(`${name} len`, BREAKPOINT_LENGTHS.map(String), value)) as BreakpointLength;
    else throw new FormatError(`${name}: unknown field ${quote(key)} (addr, type, len)`);
  }
  // What the debug registers can express (Intel SDM vol. 3, 18.2.5).
  if (bp.type === 'exec' && bp.length !== 1) throw new FormatError(`${name}: an exec breakpoint has len=1`);
  if (bp.addr % BigInt(bp.length) !== 0n) throw new FormatError(`${name}: addr ${hex(bp.addr, 16)} is not aligned to len=${bp.length}`);
  if (bp.type === 'io' && bp.addr > 0xffffn) throw new FormatError(`${name}: an io breakpoint's addr is a port (at most 0xffff)`);
  return bp;
}

function splitField(name: string, token: string): [string, string] {
  const eq = token.indexOf('=');
  if (eq <= 0) throw new FormatError(`${name}: expected field=value, got ${quote(token)}`);
  return [token.slice(0, eq), token.slice(eq + 1)];
}

function oneOf<T extends string>(what: string, allowed: readonly T[], value: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new FormatError(`${what}: ${quote(value)} is not one of ${allowed.join(', ')}`);
  return value as T;
}

/** One line per answer: `0x... gpa=0x... valid=1 writeable=1 usermode=0`. */
export function renderTranslations(translations: Translation[]): string {
  return translations.map((t) => `${hex(t.linear, 16)} gpa=${hex(t.physical, 16)} valid=${Number(t.valid)} writeable=${Number(t.writeable)} usermode=${Number(t.usermode)}\n`).join('');
}

const ANSWER_FIELDS = ['gpa', 'valid', 'writeable', 'usermode'];

/**
 * Addresses to translate, one per line. A translate read can be written
 * back: its answer fields after the address are checked by name and ignored.
 */
export function parseAddresses(text: string): bigint[] {
  return tokenLines(text).map(({ line, tokens: [address, ...answer] }) => atLine(line, () => {
    for (const token of answer) {
      if (!ANSWER_FIELDS.includes(token.slice(0, token.indexOf('=')))) throw new FormatError(`unexpected ${quote(token)} after the address`);
    }
    return within('address', () => parseU64(address));
  }));
}

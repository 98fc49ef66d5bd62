// The registers gdb is told about (qXfer:features:read target.xml) and
// their values in `g`/`p` packets, taken from the regs, sregs and fpu files.
// Two layouts: amd64 (gdb's x86-64 register numbering) for a vcpu in long
// mode, i386 otherwise, which is also what `set architecture i8086` takes.
import type { VcpuState } from './vcpu-files.js';

export type Architecture = 'amd64' | 'i386' | 'i8086';

export interface Register {
  name: string;
  bits: number;
  type: string;
  group?: string;
  feature: string;
  /** The value, or undefined where the files do not have it (gdb shows it unavailable). */
  value(state: VcpuState): bigint | undefined;
  /** The file and line that set it, if it can be set. */
  write?(value: bigint, state: VcpuState): { file: string; text: string };
}

const CORE = 'org.gnu.gdb.i386.core';
const SSE = 'org.gnu.gdb.i386.sse';
const SEGMENTS = 'org.gnu.gdb.i386.segments';
const CONTROL = 'org.kvmfs.x86.control';
const MASK32 = 0xffffffffn;

const reg = (state: VcpuState, name: string) => state.regs.get(name)?.value;
const sreg = (state: VcpuState, name: string) => state.sregs.get(name)?.value;
const segmentField = (state: VcpuState, name: string, field: string) => state.sregs.get(name)?.fields.get(field);
const fpu = (state: VcpuState, name: string) => state.fpu?.get(name)?.value;
const low32 = (value: bigint | undefined) => (value === undefined ? undefined : value & MASK32);

/** A register of the regs file; a 32-bit one (eax, eip, eflags) is the low half of its 64-bit register. */
function general(name: string, bits: number, type = `int${bits}`): Register {
  const source = bits === 32 ? `r${name.slice(1)}` : name;
  return {
    name, bits, type, feature: CORE,
    value: (state) => (bits === 32 ? low32(reg(state, source)) : reg(state, source)),
    write: (value, state) => ({ file: 'regs', text: `${source} 0x${(bits === 32 ? ((reg(state, source) ?? 0n) & ~MASK32) | value : value).toString(16)}\n` }),
  };
}

/** The x87 tag word gdb wants (2 bits a register) from the abridged one KVM keeps (1 bit: valid). */
function fullTagWord(abridged: bigint): bigint {
  let tags = 0n;
  for (let i = 0n; i < 8n; i++) if (((abridged >> i) & 1n) === 0n) tags |= 3n << (2n * i);
  return tags;
}

function x87(): Register[] {
  const st = Array.from({ length: 8 }, (_, i): Register => ({
    name: `st${i}`, bits: 80, type: 'i387_ext', feature: CORE,
    value: (state) => fpu(state, `st${i}`),
    write: (value) => ({ file: 'fpu', text: `st${i} 0x${value.toString(16)}\n` }),
  }));
  const control = (name: string, value: (state: VcpuState) => bigint | undefined, source?: string): Register => ({
    name, bits: 32, type: 'int', group: 'float', feature: CORE, value,
    write: source ? (v) => ({ file: 'fpu', text: `${source} 0x${v.toString(16)}\n` }) : undefined,
  });
  const ifFpu = (state: VcpuState, value: bigint) => (state.fpu ? value : undefined);
  return [
    ...st,
    control('fctrl', (s) => fpu(s, 'fcw'), 'fcw'),
    control('fstat', (s) => fpu(s, 'fsw'), 'fsw'),
    control('ftag', (s) => { const ftwx = fpu(s, 'ftwx'); return ftwx === undefined ? undefined : fullTagWord(ftwx); }),
    control('fiseg', (s) => ifFpu(s, 0n)),
    control('fioff', (s) => low32(fpu(s, 'last_ip'))),
    control('foseg', (s) => ifFpu(s, 0n)),
    control('fooff', (s) => low32(fpu(s, 'last_dp'))),
    control('fop', (s) => fpu(s, 'last_opcode'), 'last_opcode'),
  ];
}

function sse(count: number): Register[] {
  return [
    ...Array.from({ length: count }, (_, i): Register => ({
      name: `xmm${i}`, bits: 128, type: 'vec128', feature: SSE,
      value: (state) => fpu(state, `xmm${i}`),
      write: (value) => ({ file: 'fpu', text: `xmm${i} 0x${value.toString(16)}\n` }),
    })),
    {
      name: 'mxcsr', bits: 32, type: 'int', group: 'vector', feature: SSE,
      value: (state) => fpu(state, 'mxcsr'),
      write: (value) => ({ file: 'fpu', text: `mxcsr 0x${value.toString(16)}\n` }),
    },
  ];
}

const selectors = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'].map((name): Register => ({
  name, bits: 32, type: 'int32', feature: CORE, value: (state) => segmentField(state, name, 'selector'),
}));

function segmentBases(bits: number): Register[] {
  return ['fs', 'gs'].map((segment): Register => ({
    name: `${segment}_base`, bits, type: `int${bits}`, feature: SEGMENTS,
    value: (state) => segmentField(state, segment, 'base'),
    write: (value) => ({ file: 'sregs', text: `${segment} base=0x${value.toString(16)}\n` }),
  }));
}

const controlRegisters = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'].map((name): Register => ({
  name, bits: 64, type: 'int64', group: 'system', feature: CONTROL,
  value: (state) => sreg(state, name),
  write: (value) => ({ file: 'sregs', text: `${name} 0x${value.toString(16)}\n` }),
}));

/** gdb's numbering: the order here is the order of `g` and the regnum of `p`/`P`. */
export const layouts: Record<Architecture, Register[]> = {
  amd64: [
    ...['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi'].map((name) => general(name, 64)),
    general('rbp', 64, 'data_ptr'), general('rsp', 64, 'data_ptr'),
    ...Array.from({ length: 8 }, (_, i) => general(`r${i + 8}`, 64)),
    general('rip', 64, 'code_ptr'),
    { ...general('rflags', 32, 'i386_eflags'), name: 'eflags' },
    ...selectors, ...x87(), ...sse(16), ...segmentBases(64), ...controlRegisters,
  ],
  i386: [
    ...['eax', 'ecx', 'edx', 'ebx'].map((name) => general(name, 32)),
    general('esp', 32, 'data_ptr'), general('ebp', 32, 'data_ptr'),
    general('esi', 32), general('edi', 32),
    general('eip', 32, 'code_ptr'),
    { ...general('rflags', 32, 'i386_eflags'), name: 'eflags' },
    ...selectors, ...x87(), ...sse(8), ...controlRegisters,
  ],
  get i8086() {
    return this.i386;
  },
};

/** Long mode active (EFER.LMA): amd64; real mode (CR0.PE clear): i8086 (16-bit code); i386 otherwise. */
export function architectureOf(state: VcpuState): Architecture {
  if (((sreg(state, 'efer') ?? 0n) & 0x400n) !== 0n) return 'amd64';
  return ((sreg(state, 'cr0') ?? 0n) & 1n) === 0n ? 'i8086' : 'i386';
}

/** A register as `g`/`p` carry it: little-endian hex, or `x`s where unavailable. */
export function encodeRegister(register: Register, state: VcpuState): string {
  const value = register.value(state);
  const bytes = register.bits / 8;
  if (value === undefined) return 'xx'.repeat(bytes);
  let text = '';
  for (let i = 0; i < bytes; i++) text += Number((value >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0');
  return text;
}

export function decodeRegister(hex: string): bigint {
  let value = 0n;
  for (let i = hex.length - 2; i >= 0; i -= 2) value = (value << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16));
  return value;
}

const TYPES = `
  <flags id="i386_eflags" size="4">
    <field name="CF" start="0" end="0"/><field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/><field name="TF" start="8" end="8"/>
    <field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/>
  </flags>
  <vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>
  <vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>
  <union id="vec128">
    <field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/>
    <field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>
    <field name="uint128" type="uint128"/>
  </union>`;

/** target.xml: one feature per group of registers, in `g` order. */
export function targetXml(architecture: Architecture): string {
  const registers = layouts[architecture];
  const features = [...new Set(registers.map((r) => r.feature))];
  const body = features.map((feature) => {
    const lines = registers.map((r, regnum) => ({ r, regnum })).filter(({ r }) => r.feature === feature).map(({ r, regnum }) =>
      `    <reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${regnum}"${r.group ? ` group="${r.group}"` : ''}/>`);
    const types = feature === CORE ? TYPES.replace(/<vector[\s\S]*<\/union>/, '') : feature === SSE ? TYPES.replace(/<flags[\s\S]*<\/flags>/, '') : '';
    return `  <feature name="${feature}">${types}\n${lines.join('\n')}\n  </feature>`;
  });
  const name = architecture === 'amd64' ? 'i386:x86-64' : architecture;
  return `<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target version="1.0">\n  <architecture>${name}</architecture>\n${body.join('\n')}\n</target>\n`;
}

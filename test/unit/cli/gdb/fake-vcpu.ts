// A stand-in for a vcpu's files in a kvmfs mount, for testing the gdb bridge
// without /dev/kvm: the files' formats as the contract gives them, and a toy
// CPU that knows the few instructions of `program` (long mode, identity
// translation). The end-to-end tests (test/e2e/gdb.test.ts) use a real mount.
import type { VcpuAccess } from '../../../../src/cli/gdb/vcpu-files.js';

type Regs = Record<string, bigint>;
interface Instruction { bytes: number[]; text: string; effect?: (regs: Regs) => void; spins?: boolean; stores?: number }
export type Mode = 'long' | 'real';

const REG_NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'];
const hex16 = (value: bigint) => `0x${value.toString(16).padStart(16, '0')}`;

/** What the toy CPU runs, at 0x1000: the same four steps in each mode. */
export const programs: Record<Mode, Array<[number, Instruction]>> = {
  long: [
    [0x1000, { bytes: [0x48, 0xc7, 0xc0, 0x2a, 0x00, 0x00, 0x00], text: 'mov $0x2a,%rax', effect: (r) => { r.rax = 42n; } }],
    [0x1007, { bytes: [0x48, 0xff, 0xc0], text: 'inc %rax', effect: (r) => { r.rax! += 1n; } }],
    [0x100a, { bytes: [0x48, 0x89, 0x04, 0x25, 0x00, 0x20, 0x00, 0x00], text: 'mov %rax,0x2000', stores: 0x2000 }],
    [0x1012, { bytes: [0xeb, 0xfe], text: 'jmp 0x1012', spins: true }],
  ],
  real: [
    [0x1000, { bytes: [0xb8, 0x2a, 0x00], text: 'mov $0x2a,%ax', effect: (r) => { r.rax = 42n; } }],
    [0x1003, { bytes: [0x40], text: 'inc %ax', effect: (r) => { r.rax! += 1n; } }],
    [0x1004, { bytes: [0xa3, 0x00, 0x20], text: 'mov %ax,0x2000', stores: 0x2000 }],
    [0x1007, { bytes: [0xeb, 0xfe], text: 'jmp 0x1007', spins: true }],
  ],
};

export class FakeVcpu implements VcpuAccess {
  readonly regs: Regs = Object.fromEntries(REG_NAMES.map((name) => [name, 0n]));
  readonly memory = Buffer.alloc(0x10000);
  readonly writes: Array<[string, string]> = [];
  debug = 'singlestep 0\nsw_breakpoints 0\nhw0 off\nhw1 off\nhw2 off\nhw3 off\n';
  destroyed = false;
  private translateList: bigint[] | undefined;
  private stopRequested: (() => void) | undefined;
  private spun: (() => void) | undefined;
  /** Resolves once the guest spins (a run that only a stop ends). */
  readonly spinning = new Promise<void>((resolve) => { this.spun = resolve; });

  constructor(readonly mode: Mode = 'long', readonly withFpu = false) {
    this.regs.rip = 0x1000n;
    this.regs.rflags = 0x2n;
    for (const [addr, instruction] of programs[mode]) this.memory.set(instruction.bytes, addr);
  }

  has(file: string): boolean {
    return ['regs', 'sregs', 'debug', 'translate', 'run', 'stop'].includes(file) || (file === 'fpu' && this.withFpu);
  }

  async read(file: string): Promise<string> {
    switch (file) {
      case 'regs': return REG_NAMES.map((name) => `${name} ${hex16(this.regs[name]!)}\n`).join('');
      case 'sregs': return this.mode === 'long' ? LONG_MODE_SREGS : REAL_MODE_SREGS;
      case 'fpu': return FPU;
      case 'debug': return this.debug;
      case 'translate': return (this.translateList ?? [this.regs.rip!]).map((a) => `${hex16(a)} gpa=${hex16(a < 0x10000n ? a : 0n)} valid=${a < 0x10000n ? 1 : 0} writeable=1 usermode=0\n`).join('');
      case 'run': return `${await this.run()}\n`;
      default: throw Object.assign(new Error(`ENOENT ${file}`), { code: 'ENOENT' });
    }
  }

  async write(file: string, text: string): Promise<void> {
    this.writes.push([file, text]);
    if (file === 'regs') for (const [name, value] of text.trim().split('\n').map((l) => l.split(' '))) this.regs[name!] = BigInt(value!);
    else if (file === 'debug') this.debug = text;
    else if (file === 'translate') this.translateList = text.trim().split('\n').map((a) => BigInt(a));
    else if (file === 'stop') this.stopRequested?.();
  }

  async readPhysical(gpa: bigint, length: number): Promise<Buffer> {
    return Buffer.from(this.memory.subarray(Number(gpa), Number(gpa) + length));
  }

  async writePhysical(gpa: bigint, data: Buffer): Promise<void> {
    this.memory.set(data, Number(gpa));
  }

  /** The slot of the debug file's breakpoint of `types` that covers `address`; -1 if none. */
  private slotAt(address: bigint, types: string[]): number {
    const slots = [...this.debug.matchAll(/^hw(\d) addr=(0x[0-9a-f]+) type=(\w+) len=(\d)/gm)];
    const hit = slots.find((m) => types.includes(m[3]!) && address >= BigInt(m[2]!) && address < BigInt(m[2]!) + BigInt(m[4]!));
    return hit ? Number(hit[1]) : -1;
  }

  private debugExit(pc: bigint, dr6: bigint): string {
    return `debug pc=${hex16(pc)} exception=1 dr6=${hex16(dr6)} dr7=0x0000000000000400`;
  }

  /** One `cat run`, as kvmfs answers it (stepping over a breakpoint at rip first). */
  private async run(): Promise<string> {
    const singlestep = /^singlestep 1$/m.test(this.debug);
    for (let first = true; ; first = false) {
      const rip = this.regs.rip!;
      const slot = this.slotAt(rip, ['exec']);
      if (!first && slot >= 0) return this.debugExit(rip, 0xffff0ff0n | (1n << BigInt(slot)));
      const instruction = new Map(programs[this.mode]).get(Number(rip));
      if (!instruction) return 'shutdown';
      if (instruction.spins) {
        this.spun?.();
        await new Promise<void>((resolve) => { this.stopRequested = resolve; });
        return 'intr';
      }
      instruction.effect?.(this.regs);
      this.regs.rip = rip + BigInt(instruction.bytes.length);
      const watched = instruction.stores === undefined ? -1 : this.slotAt(BigInt(instruction.stores), ['write', 'rw']);
      if (instruction.stores !== undefined) this.memory.writeUInt16LE(Number(this.regs.rax), instruction.stores);
      // A data breakpoint traps after the store, with rip past it.
      const dr6 = 0xffff0ff0n | (singlestep ? 0x4000n : 0n) | (watched >= 0 ? 1n << BigInt(watched) : 0n);
      if (singlestep || watched >= 0) return this.debugExit(this.regs.rip, dr6);
    }
  }
}

const LONG_MODE_SREGS = `cs base=0x0000000000000000 limit=0xffffffff selector=0x0008 type=0xb present=1 dpl=0 db=0 s=1 l=1 g=1 avl=0 unusable=0
ds base=0x0000000000000000 limit=0xffffffff selector=0x0010 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1 avl=0 unusable=0
es base=0x0000000000000000 limit=0xffffffff selector=0x0010 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1 avl=0 unusable=0
fs base=0x0000000000007000 limit=0xffffffff selector=0x0000 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1 avl=0 unusable=0
gs base=0x0000000000000000 limit=0xffffffff selector=0x0000 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1 avl=0 unusable=0
ss base=0x0000000000000000 limit=0xffffffff selector=0x0010 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1 avl=0 unusable=0
tr base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0xb present=1 dpl=0 db=0 s=0 l=0 g=0 avl=0 unusable=0
ldt base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x2 present=1 dpl=0 db=0 s=0 l=0 g=0 avl=0 unusable=0
gdt base=0x0000000000000000 limit=0xffff
idt base=0x0000000000000000 limit=0xffff
cr0 0x0000000080000011
cr2 0x0000000000000000
cr3 0x0000000000002000
cr4 0x0000000000000020
cr8 0x0000000000000000
efer 0x0000000000000500
apic_base 0x00000000fee00900
interrupt_bitmap 0x0000000000000000 0x0000000000000000 0x0000000000000000 0x0000000000000000
`;

const REAL_MODE_SREGS = `${['cs', 'ds', 'es', 'fs', 'gs', 'ss'].map((name) => `${name} base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x${name === 'cs' ? 'b' : '3'} present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0`).join('\n')}
tr base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0xb present=1 dpl=0 db=0 s=0 l=0 g=0 avl=0 unusable=0
ldt base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x2 present=1 dpl=0 db=0 s=0 l=0 g=0 avl=0 unusable=0
gdt base=0x0000000000000000 limit=0xffff
idt base=0x0000000000000000 limit=0xffff
cr0 0x0000000060000010
cr2 0x0000000000000000
cr3 0x0000000000000000
cr4 0x0000000000000000
cr8 0x0000000000000000
efer 0x0000000000000000
apic_base 0x00000000fee00900
interrupt_bitmap 0x0000000000000000 0x0000000000000000 0x0000000000000000 0x0000000000000000
`;

const FPU = `fcw 0x037f
fsw 0x0000
ftwx 0x01
last_opcode 0x0000
last_ip 0x0000000000000000
last_dp 0x0000000000000000
st0 0x4000c90fdaa22168c000
${[1, 2, 3, 4, 5, 6, 7].map((i) => `st${i} 0x00000000000000000000`).join('\n')}
xmm0 0x000000000000000000000000deadbeef
${Array.from({ length: 15 }, (_, i) => `xmm${i + 1} 0x00000000000000000000000000000000`).join('\n')}
mxcsr 0x00001f80
`;

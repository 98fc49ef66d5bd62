// The helpers that load the guests of guests.ts into a VM and read what they
// did: page tables, segment setups, registers, exit lines.
import type { Mount } from './harness.js';

/** printf(1) escapes for `bytes`, to pipe into dd. */
export function printfBytes(bytes: number[]): string {
  return bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/** Little-endian bytes of a 64-bit value. */
export function u64(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
}

/**
 * 32-bit protected mode, flat 4 GiB segments, paging off (cr0 = PE|ET), in
 * one write: KVM_SET_SREGS takes the whole set at once.
 */
export const protectedModeSregs = `cr0 0x11
cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=1 s=1 l=0 g=1
ds base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
es base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
ss base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
`;

/**
 * 64-bit long mode: cr0 = PG|ET|PE, cr3 = the PML4 at 0x2000, cr4 = PAE,
 * efer = LMA|LME, a 64-bit code segment (l=1, db=0).
 */
export const longModeSregs = `cr0 0x80000011
cr3 0x2000
cr4 0x20
efer 0x500
cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=0 s=1 l=1 g=1
ds base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
es base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
ss base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
`;

/**
 * Identity page tables for the first 2 MiB: PML4 at 0x2000 -> PDPT at
 * 0x3000 -> PD at 0x4000, whose entry 0 is a 2 MiB page at 0
 * (0x1 present, 0x2 writable, 0x80 page size). [gpa, 8-byte entry] pairs.
 */
export const identityPageTables: Array<[number, number[]]> = [
  [0x2000, u64(0x3003n)],
  [0x3000, u64(0x4003n)],
  [0x4000, u64(0x83n)],
];

/**
 * `vmName` with a vcpu0, `memory` of RAM and `code` at 0x1000, rip 0x1000,
 * in `mode`: 'protected' (flat, paging off) or 'long' (with identity page
 * tables written with printf | dd). Only shell tools touch the mount.
 */
export async function loadVm(mount: Mount, vmName: string, code: number[], mode: 'protected' | 'long', memory = '1M'): Promise<void> {
  const tables = mode === 'long'
    ? identityPageTables.map(([gpa, entry]) =>
      `printf '${printfBytes(entry)}' | dd of="$V/memory" bs=1 seek=${gpa} conv=notrunc status=none`).join('\n')
    : '';
  await mount.ok(`
    V="$M/${vmName}"
    mkdir "$V" && truncate -s ${memory} "$V/memory" && mkdir "$V/vcpu0"
    printf '${printfBytes(code)}' | dd of="$V/memory" bs=4096 seek=1 conv=notrunc status=none
    ${tables}
    cat > "$V/vcpu0/sregs" <<'SREGS'
${mode === 'long' ? longModeSregs : protectedModeSregs}SREGS
    echo 'rip 0x1000' > "$V/vcpu0/regs"
  `);
}

/** The value of one register in the text of a regs file. */
export function reg(regsText: string, name: string): bigint {
  const match = new RegExp(`^${name} (0x[0-9a-f]{16})$`, 'm').exec(regsText);
  if (!match) throw new Error(`no ${name} in:\n${regsText}`);
  return BigInt(match[1]!);
}

/**
 * A shell loop that runs `$V/vcpu0/run` (V = the VM's directory) until hlt
 * (at most `limit` runs) and prints every exit line.
 */
export function runUntilHlt(vm: string, vcpu = 'vcpu0', limit = 200): string {
  return `
    n=0
    while [ $n -lt ${limit} ]; do
      line=$(cat "$M/${vm}/${vcpu}/run")
      echo "$line"
      [ "$line" = hlt ] && break
      n=$((n + 1))
    done
  `;
}

/** The bytes a list of exit lines wrote to `port` with `io out`, in order. */
export function outBytes(lines: string[], port = 0xe9): number[] {
  const bytes: number[] = [];
  const portText = `0x${port.toString(16).padStart(4, '0')}`;
  for (const line of lines) {
    const match = /^io out port=(0x[0-9a-f]{4}) size=(\d+) count=(\d+) data=(\S+)$/.exec(line);
    if (!match || match[1] !== portText) continue;
    const size = Number(match[2]);
    for (const value of match[4]!.split(',')) {
      const v = BigInt(value);
      for (let i = 0; i < size; i++) bytes.push(Number((v >> BigInt(8 * i)) & 0xffn));
    }
  }
  return bytes;
}

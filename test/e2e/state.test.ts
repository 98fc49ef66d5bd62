// A vcpu's regs and sregs files: their exact text, and writing back what was
// read (partial writes: state-partial.test.ts; rejected writes:
// state-rejected.test.ts).
import { describe, expect, it } from 'vitest';
import type { Mount } from './harness.js';
import { nameValueLines } from './assert-helpers.js';
import { type Scratch, stateSuite } from './state-suite.js';

const REGS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'];
const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'];
const DTABLES = ['gdt', 'idt'];
const CONTROL = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base'];
const H16 = '0x[0-9a-f]{16}';

const segmentLine = (name: string) => new RegExp(
  `^${name} base=${H16} limit=0x[0-9a-f]{8} selector=0x[0-9a-f]{4} type=0x[0-9a-f] present=[01] dpl=[0-3] db=[01] s=[01] l=[01] g=[01] avl=[01] unusable=[01]$`,
);
const SREGS_LINES: RegExp[] = [
  ...SEGMENTS.map(segmentLine),
  ...DTABLES.map((name) => new RegExp(`^${name} base=${H16} limit=0x[0-9a-f]{4}$`)),
  ...CONTROL.map((name) => new RegExp(`^${name} ${H16}$`)),
  new RegExp(`^interrupt_bitmap ${H16} ${H16} ${H16} ${H16}$`),
];

describe('regs and sregs', () => {
  let mount: Mount;
  let scratch: Scratch;
  const { C, regs, sregs, write } = stateSuite((m, s) => { mount = m; scratch = s; });

  describe('format', () => {
    it('a fresh vcpu\'s regs: exactly 18 lines, in order, 0x%016x', async () => {
      const text = await regs();
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.slice(0, -1).split('\n');
      expect(lines).toHaveLength(18);
      lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^${REGS[i]} ${H16}$`)));
      // KVM's reset state
      expect(lines[17]).toBe('rflags 0x0000000000000002');
      expect(lines[16]).toBe('rip 0x000000000000fff0');
    });

    it('a fresh vcpu\'s sregs: 8 segments, gdt, idt, 7 control registers, interrupt_bitmap', async () => {
      const text = await sregs();
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.slice(0, -1).split('\n');
      expect(lines).toHaveLength(SREGS_LINES.length);
      lines.forEach((line, i) => expect(line).toMatch(SREGS_LINES[i]!));
      expect(lines).toContain('cr0 0x0000000060000010');
      expect(lines).toContain('cs base=0x00000000ffff0000 limit=0x0000ffff selector=0xf000 type=0xb present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0');
      expect(lines).toContain('interrupt_bitmap 0x0000000000000000 0x0000000000000000 0x0000000000000000 0x0000000000000000');
    });

    it('reading in small pieces gives the same text (one snapshot per open)', async () => {
      expect(await mount.ok(`dd if=${C}/regs bs=5 status=none`)).toBe(await regs());
      expect(await mount.ok(`dd if=${C}/sregs bs=13 status=none`)).toBe(await sregs());
    });

    it('a read past offset 0 continues the snapshot taken at offset 0', async () => {
      await write('regs', 'rax 0x1\n');
      const out = await mount.ok(`
        exec 3< ${C}/regs
        head -c 10 <&3
        echo 'rax 0x2' > ${C}/regs
        cat <&3
        exec 3<&-
      `);
      expect(out.split('\n')[0]).toBe('rax 0x0000000000000001');
      expect(nameValueLines(await regs()).get('rax')).toBe('0x0000000000000002');
    });

    it('mode bits say rw for the owner; both are regular files of unknown (0) size', async () => {
      expect(await mount.ok(`stat -c '%a %s' ${C}/regs ${C}/sregs`)).toBe('600 0\n600 0\n');
    });
  });

  describe('writing back what was read', () => {
    it('cat regs > saved; (changes); cat saved > regs restores every register', async () => {
      const saved = `${scratch.dir}/regs.saved`;
      await mount.ok(`cat ${C}/regs > ${saved}`);
      const before = await regs();
      await write('regs', 'rax 0xdead\nrsp 0x8000\nrip 0x1234\nrflags 0x202\nr15 0xffffffffffffffff\n');
      expect(await regs()).not.toBe(before);
      await mount.ok(`cat ${saved} > ${C}/regs`);
      expect(await regs()).toBe(before);
    });

    it('cat sregs > saved; (changes); cat saved > sregs restores every field', async () => {
      const saved = `${scratch.dir}/sregs.saved`;
      await mount.ok(`cat ${C}/sregs > ${saved}`);
      const before = await sregs();
      await write('sregs', 'cs base=0 selector=0\ncr3 0x5000\ngdt base=0x1000 limit=0x27\nds base=0x10000 selector=0x1000\ncr2 0xdead\n');
      expect(await sregs()).not.toBe(before);
      await mount.ok(`cat ${saved} > ${C}/sregs`);
      expect(await sregs()).toBe(before);
    });

    it('writing the text just read changes nothing', async () => {
      const r = await regs();
      const s = await sregs();
      await mount.ok(`cat ${C}/regs > ${scratch.dir}/r && cat ${scratch.dir}/r > ${C}/regs`);
      await mount.ok(`cat ${C}/sregs > ${scratch.dir}/s && cat ${scratch.dir}/s > ${C}/sregs`);
      expect(await regs()).toBe(r);
      expect(await sregs()).toBe(s);
    });

    it('saved state round trips after a switch to 64-bit mode and back', async () => {
      const before = await sregs();
      await mount.ok(`cat ${C}/sregs > ${scratch.dir}/s0`);
      await write('sregs', 'cr3 0x10000\ncr4 0x20\nefer 0x500\ncr0 0xe0000011\ncs base=0 limit=0xffffffff selector=0x8 l=1 db=0 g=1\n');
      const long = await sregs();
      expect(long).toMatch(/^cs base=0x0{16} limit=0xffffffff selector=0x0008 type=0xb present=1 dpl=0 db=0 s=1 l=1 g=1 /m);
      expect(long).toMatch(/^efer 0x0000000000000500$/m);
      await mount.ok(`cat ${C}/sregs > ${scratch.dir}/s1`);
      await mount.ok(`cat ${scratch.dir}/s0 > ${C}/sregs`);
      expect(await sregs()).toBe(before);
      await mount.ok(`cat ${scratch.dir}/s1 > ${C}/sregs`);
      expect(await sregs()).toBe(long);
      await mount.ok(`cat ${scratch.dir}/s0 > ${C}/sregs`);
      expect(await sregs()).toBe(before);
    });
  });

});

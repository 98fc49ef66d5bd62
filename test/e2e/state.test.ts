// A vcpu's regs and sregs files: their exact text, writing back what was
// read, partial writes that change only what they name, and rejected writes
// that change nothing at all and say why in last_error.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { fails, nameValueLines, PRINTF, q, scratchDir } from './assert-helpers.js';

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

/** Replaces `field=...` values in the fields of one sregs line (the line without its name). */
function withFields(fieldsText: string, fields: Record<string, string>): string {
  let result = ` ${fieldsText}`;
  for (const [field, value] of Object.entries(fields)) {
    const next = result.replace(new RegExp(` ${field}=[^ ]+`), ` ${field}=${value}`);
    if (next === result && !result.includes(` ${field}=${value}`)) throw new Error(`no field ${field} in ${fieldsText}`);
    result = next;
  }
  return result.slice(1);
}

/** The lines of `after` that differ from `before`, by first word. */
function changedLines(before: string, after: string): Record<string, string> {
  const old = nameValueLines(before);
  const changes: Record<string, string> = {};
  for (const [name, value] of nameValueLines(after)) if (old.get(name) !== value) changes[name] = value;
  return changes;
}

describe('regs and sregs', () => {
  let mount: Mount;
  let scratch: ReturnType<typeof scratchDir>;
  const V = '"$M/st"';
  const C = '"$M/st/vcpu0"';

  async function regs(): Promise<string> { return mount.ok(`cat ${C}/regs`); }
  async function sregs(): Promise<string> { return mount.ok(`cat ${C}/sregs`); }

  /** Writes `text` to vcpu0/`file` with one write(2) (coreutils printf through a %s, so nothing is interpreted). */
  async function write(file: 'regs' | 'sregs', text: string): Promise<void> {
    await mount.ok(`${PRINTF} %s ${q(text)} > ${C}/${file}`);
  }

  beforeAll(async () => {
    scratch = scratchDir();
    mount = await Mount.start();
    await mount.ok(`mkdir ${V} ${V}/vcpu0`);
  });
  afterAll(async () => {
    await mount.stop();
    scratch.remove();
  });

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

  describe('partial writes change only what they name', () => {
    const regsCases: Array<[string, string, Record<string, string>]> = [
      ['echo \'rip 0x1000\'', 'rip 0x1000\n', { rip: '0x0000000000001000' }],
      ['decimal', 'rax 4096\n', { rax: '0x0000000000001000' }],
      ['decimal with leading zeros (not octal)', 'rbx 0010\n', { rbx: '0x000000000000000a' }],
      ['the largest value, in decimal', 'rcx 18446744073709551615\n', { rcx: '0xffffffffffffffff' }],
      ['the largest value, in hex', 'rdx 0xffffffffffffffff\n', { rdx: '0xffffffffffffffff' }],
      ['short and upper-case hex digits', 'rsi 0xAbC\n', { rsi: '0x0000000000000abc' }],
      ['several lines, any order', 'r15 0x15\nrax 0xa\nr8 8\nrbp 0xb0\n', { r15: '0x0000000000000015', rax: '0x000000000000000a', r8: '0x0000000000000008', rbp: '0x00000000000000b0' }],
      ['tabs and extra spaces', '\trdi\t\t0x77  \n   rsp   0x9000\n', { rdi: '0x0000000000000077', rsp: '0x0000000000009000' }],
      ['blank lines between', '\nr9 0x9\n\n\nr10 0x10\n\n', { r9: '0x0000000000000009', r10: '0x0000000000000010' }],
      ['no final newline', 'r11 0x11', { r11: '0x0000000000000011' }],
      ['rflags', 'rflags 0x202\n', { rflags: '0x0000000000000202' }],
      ['a full line in the read format', 'r12 0x0000000000001212\n', { r12: '0x0000000000001212' }],
    ];
    for (const [what, input, expected] of regsCases) {
      it(`regs: ${what}`, async () => {
        // start from values the write does not already have
        await write('regs', Object.keys(expected).map((name) => `${name} ${name === 'rflags' ? '0x2' : '0x5a5a'}\n`).join(''));
        const before = await regs();
        const sBefore = await sregs();
        await write('regs', input);
        expect(changedLines(before, await regs())).toEqual(expected);
        expect(await sregs()).toBe(sBefore);
      });
    }

    it('regs: echo (one line) and a shell here-string work too', async () => {
      const before = await regs();
      await mount.ok(`echo 'r13 0x1313' > ${C}/regs && cat <<< 'r14 14' > ${C}/regs`);
      expect(changedLines(before, await regs())).toEqual({ r13: '0x0000000000001313', r14: '0x000000000000000e' });
    });

    it('regs: two lines written with one printf are one change (both applied)', async () => {
      await write('regs', 'rax 0\nrbx 0\n');
      const before = await regs();
      await mount.ok(`${PRINTF} 'rax 0x1\\nrbx 0x2\\n' > ${C}/regs`);
      expect(changedLines(before, await regs())).toEqual({ rax: '0x0000000000000001', rbx: '0x0000000000000002' });
    });

    it('a write to one vcpu leaves another alone', async () => {
      await mount.ok(`mkdir ${V}/vcpu1`);
      const other = await mount.ok(`cat ${V}/vcpu1/regs; cat ${V}/vcpu1/sregs`);
      await write('regs', 'rax 0x4242\nrip 0x4242\n');
      await write('sregs', 'cr3 0x4000\n');
      expect(await mount.ok(`cat ${V}/vcpu1/regs; cat ${V}/vcpu1/sregs`)).toBe(other);
    });

    const sregsCases: Array<[string, string, (before: Map<string, string>) => Record<string, string>]> = [
      ['a real-mode cs base and selector', 'cs base=0 selector=0\n', (b) => ({ cs: withFields(b.get('cs')!, { base: '0x0000000000000000', selector: '0x0000' }) })],
      ['cs selector=0x8 l=0 db=1 (fields in any order)', 'cs db=1 selector=0x8 l=0\n', (b) => ({ cs: withFields(b.get('cs')!, { selector: '0x0008', db: '1', l: '0' }) })],
      ['a data segment: base, limit, selector', 'ds base=0x10000 limit=0xfffff selector=0x1000\n', (b) => ({ ds: withFields(b.get('ds')!, { base: '0x0000000000010000', limit: '0x000fffff', selector: '0x1000' }) })],
      ['segment flags and type', 'es g=1 avl=1 type=0x3 dpl=0\n', (b) => ({ es: withFields(b.get('es')!, { g: '1', avl: '1', type: '0x3', dpl: '0' }) })],
      ['cr3', 'cr3 0x5000\n', () => ({ cr3: '0x0000000000005000' })],
      ['cr3 in decimal', 'cr3 28672\n', () => ({ cr3: '0x0000000000007000' })],
      ['cr2', 'cr2 0xdeadbeef\n', () => ({ cr2: '0x00000000deadbeef' })],
      ['cr8', 'cr8 5\n', () => ({ cr8: '0x0000000000000005' })],
      ['gdt base and limit', 'gdt base=0x1000 limit=0x27\n', () => ({ gdt: 'base=0x0000000000001000 limit=0x0027' })],
      ['idt limit only', 'idt limit=0x3ff\n', (b) => ({ idt: withFields(b.get('idt')!, { limit: '0x03ff' }) })],
      ['several lines, any order, tabs', 'cr3\t0x6000\n  gdt limit=0x37\tbase=0x2000\nfs selector=0x18\n', (b) => ({
        cr3: '0x0000000000006000', gdt: 'base=0x0000000000002000 limit=0x0037', fs: withFields(b.get('fs')!, { selector: '0x0018' }),
      })],
    ];
    for (const [what, input, expected] of sregsCases) {
      it(`sregs: ${what}`, async () => {
        const before = await sregs();
        const rBefore = await regs();
        await write('sregs', input);
        expect(changedLines(before, await sregs())).toEqual(expected(nameValueLines(before)));
        expect(await regs()).toBe(rBefore);
      });
    }

    it('sregs: efer 0 and apic_base are accepted', async () => {
      await write('sregs', 'efer 0\napic_base 0xfee00900\n');
      const text = await sregs();
      expect(text).toMatch(/^efer 0x0000000000000000$/m);
      expect(text).toMatch(/^apic_base 0x00000000fee00900$/m);
    });

    it('writes are not cumulative over opens: a second write does not undo the first', async () => {
      await write('regs', 'rax 0x1\n');
      await write('regs', 'rbx 0x2\n');
      const lines = nameValueLines(await regs());
      expect([lines.get('rax'), lines.get('rbx')]).toEqual(['0x0000000000000001', '0x0000000000000002']);
    });

    it('an open with O_TRUNC and no write changes nothing', async () => {
      const r = await regs();
      const s = await sregs();
      await mount.ok(`: > ${C}/regs; : > ${C}/sregs; truncate -s 0 ${C}/regs`);
      expect(await regs()).toBe(r);
      expect(await sregs()).toBe(s);
    });
  });

  describe('rejected writes change nothing', () => {
    let inputs: string;
    beforeAll(async () => {
      inputs = scratch.dir;
      // state the bad inputs would change if any part of them were applied
      await write('regs', 'rax 0x1111\nrbx 0x2222\nrip 0x3333\n');
      await write('sregs', 'cr3 0x5000\ncs base=0 selector=0\ngdt base=0x100 limit=0x1f\n');
    });

    type Case = [what: string, input: string | Buffer | 'urandom', reason: RegExp];
    const tooLong = Buffer.from('rax 0x1\n'.repeat(100 * 1024 / 8));
    const common = (good: string): Case[] => [
      ['NUL bytes', `${good}\0\n`, /^line 1: control character 0x00 not allowed$/],
      ['only NULs', Buffer.alloc(16), /^line 1: control character 0x00 not allowed$/],
      ['binary junk from /dev/urandom', 'urandom', /^.+$/],
      ['100 KiB of text', tooLong, /^write of 102400 bytes is too large \(at most \d+\)$/],
      ['an escape sequence', `${good}\x1b[2J\n`, /^line 1: control character 0x1b not allowed$/],
    ];
    const regsCases: Case[] = [
      ['unknown register', 'rpi 0x1000\n', /^line 1: unknown register "rpi"$/],
      ['upper-case name', 'RAX 1\n', /^line 1: unknown register "RAX"$/],
      ['an sregs name', 'cr3 0x1000\n', /^line 1: unknown register "cr3"$/],
      ['name=value syntax', 'rax=1\n', /^line 1: unknown register "rax=1"$/],
      ['bad number', 'rax 0xZZ\n', /^line 1: rax: bad number "0xZZ"$/],
      ['negative number', 'rax -1\n', /^line 1: rax: bad number "-1"$/],
      ['bare 0x', 'rax 0x\n', /^line 1: rax: bad number "0x"$/],
      ['a fraction', 'rax 1.5\n', /^line 1: rax: bad number "1.5"$/],
      ['an exponent', 'rax 1e3\n', /^line 1: rax: bad number "1e3"$/],
      ['2^64 in decimal', 'rax 18446744073709551616\n', /^line 1: rax: value 18446744073709551616 out of range for 64 bits$/],
      ['2^64 in hex', 'rax 0x10000000000000000\n', /^line 1: rax: value 0x10000000000000000 out of range for 64 bits$/],
      ['a thousand digits', `rax ${'9'.repeat(1000)}\n`, /^line 1: rax: value 9{40}\.\.\. out of range for 64 bits$/],
      ['duplicate', 'rax 1\nrax 2\n', /^line 2: duplicate register rax$/],
      ['missing value', 'rax\n', /^line 1: missing value for rax$/],
      ['extra tokens', 'rax 1 2\n', /^line 1: unexpected "2" after the value of rax$/],
      ['partial good + one bad line (the good lines are not applied)', 'rax 0x9999\nrip 0x9999\nbogus 1\n', /^line 3: unknown register "bogus"$/],
      ['one bad line, then good ones', 'bogus 1\nrax 0x9999\n', /^line 1: unknown register "bogus"$/],
      ['good, then a bad value', 'rbx 0x9999\nrcx 0xfffffffffffffffff\n', /^line 2: rcx: value 0xfffffffffffffffff out of range for 64 bits$/],
      ...common('rax 0x9999'),
    ];
    const sregsCases: Case[] = [
      ['unknown register', 'xyz 1\n', /^line 1: unknown register "xyz"$/],
      ['a regs name', 'rax 1\n', /^line 1: unknown register "rax"$/],
      ['bad number', 'cr3 0xgg\n', /^line 1: cr3: bad number "0xgg"$/],
      ['2^64', 'cr3 0x10000000000000000\n', /^line 1: cr3: value 0x10000000000000000 out of range for 64 bits$/],
      ['duplicate line', 'cr3 0x1000\ncr3 0x2000\n', /^line 2: duplicate register cr3$/],
      ['duplicate segment line', 'cs selector=0x1\ncs base=0x2\n', /^line 2: duplicate register cs$/],
      ['missing value', 'cr3\n', /^line 1: cr3: expected 1 value, got 0$/],
      ['extra tokens', 'cr3 1 2\n', /^line 1: cr3: expected 1 value, got 2$/],
      ['interrupt_bitmap with 3 words', 'interrupt_bitmap 0 0 0\n', /^line 1: interrupt_bitmap: expected 4 values, got 3$/],
      ['unknown segment field', 'cs foo=1\n', /^line 1: cs: unknown field "foo"$/],
      ['a segment with no fields', 'cs\n', /^line 1: cs: no fields given$/],
      ['a field without =', 'cs base\n', /^line 1: cs: expected field=value, got "base"$/],
      ['a field without a name', 'cs =1\n', /^line 1: cs: expected field=value, got "=1"$/],
      ['a field without a value', 'cs base=\n', /^line 1: cs base: bad number ""$/],
      ['duplicate field', 'cs base=1 base=2\n', /^line 1: cs: duplicate field base$/],
      ['dpl=4', 'cs dpl=4\n', /^line 1: cs dpl: value 4 out of range for 2 bits$/],
      ['type=16', 'ds type=16\n', /^line 1: ds type: value 16 out of range for 4 bits$/],
      ['present=2', 'ss present=2\n', /^line 1: ss present: value 2 out of range for 1 bit$/],
      ['selector over 16 bits', 'cs selector=0x10000\n', /^line 1: cs selector: value 0x10000 out of range for 16 bits$/],
      ['segment limit over 32 bits', 'ds limit=0x100000000\n', /^line 1: ds limit: value 0x100000000 out of range for 32 bits$/],
      ['dtable limit too big', 'gdt limit=0x10000\n', /^line 1: gdt limit: value 0x10000 out of range for 16 bits$/],
      ['a dtable field only segments have', 'idt selector=0\n', /^line 1: idt: unknown field "selector"$/],
      ['a control register in field syntax', 'cr3 base=0\n', /^line 1: cr3: bad number "base=0"$/],
      ['partial good + one bad line (the good lines are not applied)', 'cr3 0x9000\ncs selector=0x10\ngdt limit=0xff\ncs bogus=1\n', /^line 4: duplicate register cs$/],
      ['good lines, then a bad field', 'cr3 0x9000\nds selector=0x10 dpl=9\n', /^line 2: ds dpl: value 9 out of range for 2 bits$/],
      ['rejected by KVM: cs l=1 outside long mode', 'cs selector=0x8 l=1 db=0\n', /^KVM_SET_SREGS: Invalid argument$/],
      ['rejected by KVM, with good lines before', 'cr3 0x9000\nidt limit=0x1\ncs l=1\n', /^KVM_SET_SREGS: Invalid argument$/],
      ...common('cr3 0x9999'),
    ];

    for (const [file, cases] of [['regs', regsCases], ['sregs', sregsCases]] as const) {
      cases.forEach(([what, input, reason], index) => {
        it(`${file}: ${what}`, async () => {
          const path = join(inputs, `${file}-bad-${index}`);
          if (input === 'urandom') await mount.ok(`head -c 200 /dev/urandom > ${path}`);
          else writeFileSync(path, input);
          const before = await mount.ok(`cat ${C}/regs ${C}/sregs`);
          const result = await fails(mount, `cat ${path} > ${C}/${file}`, 'Invalid argument');
          expect(result.stderr).toMatch(/^cat: write error: Invalid argument\n$/);
          expect(await mount.ok(`cat ${C}/regs ${C}/sregs`)).toBe(before);
          const error = await mount.ok(`cat ${V}/last_error`);
          expect(error.split('\n')).toHaveLength(2);
          expect(error.startsWith(`vcpu0/${file}: `)).toBe(true);
          expect(error.slice(`vcpu0/${file}: `.length, -1)).toMatch(reason);
        });
      });
    }

    for (const file of ['regs', 'sregs']) {
      it(`${file}: a write at an odd offset is EINVAL`, async () => {
        const before = await mount.ok(`cat ${C}/regs ${C}/sregs`);
        await fails(mount, `${PRINTF} 'cr3 5\\n' | dd of=${C}/${file} bs=1 seek=3 conv=notrunc status=none`, 'Invalid argument');
        await fails(mount, `${PRINTF} 'cr3 5\\n' | dd of=${C}/${file} bs=64 seek=3 oflag=seek_bytes conv=notrunc status=none`, 'Invalid argument');
        expect(await mount.ok(`cat ${C}/regs ${C}/sregs`)).toBe(before);
        expect(await mount.ok(`cat ${V}/last_error`)).toMatch(new RegExp(`^vcpu0/${file}: write at offset 3: .+\n$`));
      });
    }

    it('the state is still writable after all that', async () => {
      await write('regs', 'rax 0x600d\n');
      await write('sregs', 'cr3 0x600d000\n');
      expect(nameValueLines(await regs()).get('rax')).toBe('0x000000000000600d');
      expect(nameValueLines(await sregs()).get('cr3')).toBe('0x000000000600d000');
    });
  });
});

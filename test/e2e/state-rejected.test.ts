// Rejected writes to a vcpu's regs and sregs change nothing at all and say
// why in last_error.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Mount } from './harness.js';
import { fails, nameValueLines, PRINTF } from './assert-helpers.js';
import { type Scratch, stateSuite } from './state-suite.js';

describe('regs and sregs', () => {
  let mount: Mount;
  let scratch: Scratch;
  const { V, C, regs, sregs, write } = stateSuite((m, s) => { mount = m; scratch = s; });

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

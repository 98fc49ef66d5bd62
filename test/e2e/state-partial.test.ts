// Partial writes to a vcpu's regs and sregs change only what they name.
import { describe, expect, it } from 'vitest';
import type { Mount } from './harness.js';
import { nameValueLines, PRINTF } from './assert-helpers.js';
import { stateSuite } from './state-suite.js';

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
  const { V, C, regs, sregs, write } = stateSuite((m) => { mount = m; });

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

});

// cpuid, supported_cpuid, msrs, msr_index_list, fpu and xsave end to end:
// a guest proves each effect (its cpuid, rdmsr/wrmsr, SSE stores and
// loads), and bad input changes nothing. Only shell tools touch the mount.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { scratchDir } from './assert-helpers.js';
import { loadVm, printfBytes } from './guests.js';
import { cpuidVendor, MSR_WRITTEN, msrReadWrite, SSE_LOAD, SSE_STORE, sseStoreLoad } from './guests-state.js';
import { le128, outData, readFile, refused, runs, writeOnce } from './state-helpers.js';

const CPUID_LINE = /^0x[0-9a-f]{8} 0x[0-9a-f]{2,8}: eax=0x[0-9a-f]{8} ebx=0x[0-9a-f]{8} ecx=0x[0-9a-f]{8} edx=0x[0-9a-f]{8} flags=0x[0-9a-f]+$/;
const lines = (text: string) => text.trimEnd().split('\n');
/** The registers of one cpuid line. */
function leaf(table: string, leafSubleaf: string): Record<'eax' | 'ebx' | 'ecx' | 'edx', number> {
  const line = lines(table).find((l) => l.startsWith(`${leafSubleaf}:`));
  if (!line) throw new Error(`no ${leafSubleaf} in\n${table}`);
  const value = (reg: string) => Number(new RegExp(`${reg}=(0x[0-9a-f]+)`).exec(line)![1]);
  return { eax: value('eax'), ebx: value('ebx'), ecx: value('ecx'), edx: value('edx') };
}
/** The vendor string of leaf 0's ebx, edx, ecx. */
const vendorOf = (words: number[]) => Buffer.concat(words.map((w) => { const b = Buffer.alloc(4); b.writeUInt32LE(w >>> 0); return b; })).toString('latin1');
/** MSRs that count by themselves: the TSC, and Hyper-V's VP runtime and reference time counter. */
const COUNTING_MSRS = ['0x00000010', '0x40000010', '0x40000020'];
/** msrs text without the MSRs that count by themselves. */
const withoutCounters = (text: string) => lines(text).filter((l) => !COUNTING_MSRS.includes(l.split(' ')[0]!)).join('\n');

describe('vcpu state: cpuid, msrs, fpu, xsave', () => {
  let mount: Mount;
  let scratch: ReturnType<typeof scratchDir>;
  beforeAll(async () => {
    mount = await Mount.start();
    scratch = scratchDir();
  });
  afterAll(async () => {
    await mount.stop();
    scratch.remove();
  });

  describe('top level', () => {
    it('supported_cpuid: the cpuid -r layout, read-only for all; a new vcpu starts with its table', async () => {
      const supported = await mount.ok('cat "$M/supported_cpuid"');
      for (const line of lines(supported)) expect(line).toMatch(CPUID_LINE);
      expect(await mount.ok('stat -c %a "$M/supported_cpuid" "$M/msr_index_list"')).toBe('444\n444\n');
      await mount.ok('mkdir "$M/fresh" "$M/fresh/vcpu0"');
      const table = await readFile(mount, 'fresh', 'cpuid');
      expect(lines(table)).toHaveLength(lines(supported).length);
      expect(leaf(table, '0x00000000 0x00')).toEqual(leaf(supported, '0x00000000 0x00'));
      expect(leaf(supported, '0x00000000 0x00').eax).toBeGreaterThan(0);
    });

    it('msr_index_list: one 0x%08x a line; msrs shows those KVM_GET_MSRS returns, ascending', async () => {
      const list = lines(await mount.ok('cat "$M/msr_index_list"'));
      for (const line of list) expect(line).toMatch(/^0x[0-9a-f]{8}$/);
      expect(list).toContain('0x00000174');
      const msrs = lines(await readFile(mount, 'fresh', 'msrs'));
      for (const line of msrs) expect(line).toMatch(/^0x[0-9a-f]{8} 0x[0-9a-f]{16}$/);
      const indices = msrs.map((l) => l.split(' ')[0]!);
      expect(indices.every((index) => list.includes(index))).toBe(true);
      expect([...indices].sort()).toEqual(indices);
      expect(indices).toContain('0x00000175');
    });
  });

  describe('cpuid', () => {
    it('a guest\'s cpuid leaf 0 sees the host\'s vendor by default', async () => {
      await loadVm(mount, 'cpu1', cpuidVendor, 'long');
      const out = await runs(mount, 'cpu1', 5);
      expect(out[4]).toBe('hlt');
      const supported = leaf(await mount.ok('cat "$M/supported_cpuid"'), '0x00000000 0x00');
      const seen = vendorOf(out.slice(0, 3).map((l) => Number(outData(l))));
      expect(seen).toBe(vendorOf([supported.ebx, supported.edx, supported.ecx]));
      expect(seen).toMatch(/^[\x21-\x7e]{12}$/);
    });

    it('a vendor written before the first run is what the guest sees; the other leaves stay', async () => {
      await loadVm(mount, 'cpu2', cpuidVendor, 'long');
      const before = await readFile(mount, 'cpu2', 'cpuid');
      const words = [0, 4, 8].map((at) => Buffer.from('kvmfs-vendor', 'latin1').readUInt32LE(at));
      await writeOnce(mount, 'cpu2', 'cpuid', `0x0 0x0: ebx=${words[0]} edx=${words[1]} ecx=${words[2]}\n`);
      const after = await readFile(mount, 'cpu2', 'cpuid');
      const changed = lines(after).filter((line, i) => line !== lines(before)[i]);
      expect(lines(after)).toHaveLength(lines(before).length);
      expect(changed).toEqual([lines(after)[0]]);
      expect(changed[0]).toMatch(/^0x00000000 0x00: eax=0x[0-9a-f]{8} ebx=0x666d766b ecx=0x726f646e edx=0x65762d73 flags=0x0$/);
      const out = await runs(mount, 'cpu2', 5);
      expect(vendorOf(out.slice(0, 3).map((l) => Number(outData(l))))).toBe('kvmfs-vendor');
      expect(Number(outData(out[3]!))).toBe(leaf(after, '0x00000001 0x00').eax);
    });

    it('after the first run KVM refuses a changed table (since Linux 5.16): its errno passes through, nothing changes', async () => {
      await refused(mount, 'cpu2', 'cpuid', '0x0 0x0: eax=0x1\n', /^KVM_SET_CPUID2: Invalid argument$/);
    });

    it.each([
      ['no colon', '0 0 eax=1', /^line 1: expected ":" after the subleaf$/],
      ['an unknown register', '0x0 0x0: rax=1', /^line 1: leaf 0x00000000 0x00: unknown field "rax"$/],
      ['a 33-bit value', '0x0 0x0: eax=0x100000000', /^line 1: leaf 0x00000000 0x00 eax: value 0x100000000 out of range for 32 bits$/],
      ['a good line, then a bad one', '0x0 0x0: eax=1\n0x1 0x0 ebx=1', /^line 2: expected ":" after the subleaf$/],
    ])('bad input (%s): EINVAL, nothing changed, the reason in last_error', async (_, text, reason) => {
      await refused(mount, 'fresh', 'cpuid', text, reason);
    });
  });

  describe('msrs', () => {
    it('the guest reads (rdmsr) an MSR set through the file, and its wrmsr shows in the file', async () => {
      await loadVm(mount, 'msr', msrReadWrite, 'long');
      // 32 bits: AMD keeps only the low half of SYSENTER_ESP
      await writeOnce(mount, 'msr', 'msrs', '0x175 0x12345678\n');
      expect(lines(await readFile(mount, 'msr', 'msrs'))).toContain('0x00000175 0x0000000012345678');
      // refused as a whole: 0x175 is taken, EFER with reserved bits is not, so 0x175 is put back
      await refused(mount, 'msr', 'msrs', '0x175 0x4242\n0xc0000080 0xffffffffffffffff\n',
        /^MSR 0xc0000080 \(value 0xffffffffffffffff\) refused by KVM_SET_MSRS; nothing changed$/, { stable: withoutCounters });
      const out = await runs(mount, 'msr', 3);
      expect(out.slice(0, 2).map(outData)).toEqual([0x12345678n, 0n]);
      expect(out[2]).toBe('hlt');
      expect(lines(await readFile(mount, 'msr', 'msrs'))).toContain(`0x00000174 0x${MSR_WRITTEN.toString(16).padStart(16, '0')}`);
    });

    it.each([
      ['a missing value', '0x175', /^line 1: missing value for 0x175$/],
      ['a duplicate', '0x175 1\n373 2', /^line 2: duplicate MSR 0x00000175$/],
      ['a name for an index', 'efer 0', /^line 1: MSR index: bad number "efer"$/],
      ['an MSR KVM does not know', '0x175 1\n0x4b564dff 1', /^MSR 0x4b564dff \(value 0x0000000000000001\) refused by KVM_SET_MSRS; nothing changed$/],
    ])('bad input (%s): EINVAL, nothing changed, the reason in last_error', async (_, text, reason) => {
      await refused(mount, 'fresh', 'msrs', text, reason, { stable: withoutCounters });
    });
  });

  describe('fpu and xsave', () => {
    const XMM0 = 0x00112233445566778899aabbccddeeffn;
    const LOADED = 0xfedcba98765432100123456789abcdefn;

    it('a fresh vcpu\'s fpu: the contract\'s 31 lines, fcw 0x037f, mxcsr 0x00001f80', async () => {
      const text = lines(await readFile(mount, 'fresh', 'fpu'));
      expect(text.map((l) => l.split(' ')[0])).toEqual([
        'fcw', 'fsw', 'ftwx', 'last_opcode', 'last_ip', 'last_dp',
        ...Array.from({ length: 8 }, (_, i) => `st${i}`), ...Array.from({ length: 16 }, (_, i) => `xmm${i}`), 'mxcsr',
      ]);
      expect(text[0]).toBe('fcw 0x037f');
      expect(text[6]).toMatch(/^st0 0x[0-9a-f]{20}$/);
      expect(text[14]).toMatch(/^xmm0 0x[0-9a-f]{32}$/);
      expect(text[30]).toBe('mxcsr 0x00001f80');
    });

    it('an xmm register written through fpu is what the guest stores; what it loads shows in fpu', async () => {
      await loadVm(mount, 'sse', sseStoreLoad, 'long');
      await mount.ok(`echo 'cr4 0x220' > "$M/sse/vcpu0/sregs"
        printf '${printfBytes([...le128(LOADED)])}' | dd of="$M/sse/memory" bs=1 seek=${SSE_LOAD} conv=notrunc status=none`);
      await writeOnce(mount, 'sse', 'fpu', `xmm0 0x${XMM0.toString(16)}\n`);
      expect(lines(await readFile(mount, 'sse', 'fpu'))).toContain(`xmm0 0x${XMM0.toString(16).padStart(32, '0')}`);
      expect(await runs(mount, 'sse', 1)).toEqual(['hlt']);
      const stored = await mount.ok(`dd if="$M/sse/memory" bs=1 skip=${SSE_STORE} count=16 status=none | od -An -tx1 | tr -d ' \\n'`);
      expect(stored).toBe(le128(XMM0).toString('hex'));
      expect(lines(await readFile(mount, 'sse', 'fpu'))).toContain(`xmm1 0x${LOADED.toString(16).padStart(32, '0')}`);
    });

    it('xsave: the whole area (its size is the file\'s), written back restores fpu; a patched area reaches the guest', async () => {
      const saved = join(scratch.dir, 'xsave');
      expect(await mount.ok('stat -c %s "$M/sse/vcpu0/xsave"')).toBe('4096\n');
      await mount.ok(`cat "$M/sse/vcpu0/xsave" > ${saved}`);
      expect(readFileSync(saved).length).toBe(4096);
      const fpu = await readFile(mount, 'sse', 'fpu');
      await writeOnce(mount, 'sse', 'fpu', 'xmm0 0x1\nxmm1 0x2\n');
      await mount.ok(`cat ${saved} > "$M/sse/vcpu0/xsave"`);
      expect(await readFile(mount, 'sse', 'fpu')).toBe(fpu);
      // xmm0 in the legacy region at 160, SSE (bit 1) present in XSTATE_BV at 512
      const area = readFileSync(saved);
      le128(LOADED).copy(area, 160);
      area[512] = area[512]! | 2;
      writeFileSync(saved, area);
      await mount.ok(`cat ${saved} > "$M/sse/vcpu0/xsave"; echo 'rip 0x1000' > "$M/sse/vcpu0/regs"`);
      expect(await runs(mount, 'sse', 1)).toEqual(['hlt']);
      const stored = await mount.ok(`dd if="$M/sse/memory" bs=1 skip=${SSE_STORE} count=16 status=none | od -An -tx1 | tr -d ' \\n'`);
      expect(stored).toBe(le128(LOADED).toString('hex'));
    });

    it('xsave bad input: a write of part of the area is EINVAL and changes nothing', async () => {
      const before = await mount.ok('od -An -tx1 "$M/sse/vcpu0/xsave" | md5sum');
      await refused(mount, 'sse', 'xsave', 'x'.repeat(100), /^a write is the whole 4096-byte XSAVE area, not 100 bytes$/, { stable: () => '' });
      expect(await mount.ok('od -An -tx1 "$M/sse/vcpu0/xsave" | md5sum')).toBe(before);
    });

    it.each([
      ['an unknown register', 'xmm16 0', /^line 1: unknown register "xmm16"$/],
      ['a value over 128 bits', 'xmm0 0x100000000000000000000000000000000', /^line 1: xmm0: value 0x1000000000000000000000000000000/],
      ['good lines, then a bad one', 'xmm0 1\nfcw 0x10000', /^line 2: fcw: value 0x10000 out of range for 16 bits$/],
    ])('fpu bad input (%s): EINVAL, nothing changed, the reason in last_error', async (_, text, reason) => {
      await refused(mount, 'sse', 'fpu', text, reason);
    });
  });
});

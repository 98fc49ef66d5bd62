import { describe, expect, it } from 'vitest';
import type { MsrEntry, Xcr } from '../../../../src/backend/types-state.js';
import { parseMsrs, renderMsrIndexList, renderMsrs } from '../../../../src/fs/format/msrs.js';
import { applyXcrs, parseXcrs, renderXcrs } from '../../../../src/fs/format/xcrs.js';
import { formatError } from './format-error.js';

describe('msrs', () => {
  const entries: MsrEntry[] = [{ index: 0x174, data: 0x10n }, { index: 0xc0000080, data: 0xd00n }];

  it('renders index and value, 8 and 16 digits', () => {
    expect(renderMsrs(entries)).toBe('0x00000174 0x0000000000000010\n0xc0000080 0x0000000000000d00\n');
    expect(renderMsrIndexList([0x10, 0xc0000080])).toBe('0x00000010\n0xc0000080\n');
  });

  it.each<[string, string, MsrEntry[]]>([
    ['a read-back', renderMsrs(entries), entries],
    ['decimal, in the order written', '3221225600 0\n0x175 4096', [{ index: 0xc0000080, data: 0n }, { index: 0x175, data: 4096n }]],
    ['any index (KVM decides)', '0xdeadbeef 1', [{ index: 0xdeadbeef, data: 1n }]],
  ])('accepts %s', (_, text, want) => {
    expect(parseMsrs(text)).toEqual(want);
  });

  it.each<[string, string, string]>([
    ['a name', 'efer 0', 'line 1: MSR index: bad number "efer"'],
    ['an index over 32 bits', '0x100000000 0', 'line 1: MSR index: value 0x100000000 out of range for 32 bits'],
    ['a value over 64 bits', '0x10 0x10000000000000000', 'line 1: MSR 0x00000010: value 0x10000000000000000 out of range for 64 bits'],
    ['a missing value', '0x10', 'line 1: missing value for 0x10'],
    ['a duplicate (written differently)', '0x10 1\n16 2', 'line 2: duplicate MSR 0x00000010'],
    ['an extra token', '0x10 1 2', 'line 1: unexpected "2" after the value of 0x10'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseMsrs(text)).toThrow(formatError(message));
  });
});

describe('xcrs', () => {
  const xcrs: Xcr[] = [{ xcr: 0, value: 1n }];

  it('renders xcr<N> lines, and a read-back changes nothing', () => {
    expect(renderXcrs(xcrs)).toBe('xcr0 0x0000000000000001\n');
    expect(applyXcrs(xcrs, parseXcrs(renderXcrs(xcrs)))).toEqual(xcrs);
  });

  it('a write changes the XCRs it names', () => {
    expect(applyXcrs([...xcrs, { xcr: 1, value: 0n }], parseXcrs('xcr0 0x7'))).toEqual([{ xcr: 0, value: 7n }, { xcr: 1, value: 0n }]);
  });

  it.each<[string, string, string]>([
    ['an unknown name', 'xcr 1', 'line 1: unknown register "xcr"'],
    ['a leading zero', 'xcr00 1', 'line 1: unknown register "xcr00"'],
    ['a duplicate', 'xcr0 1\nxcr0 3', 'line 2: duplicate register xcr0'],
    ['a value over 64 bits', 'xcr0 0x10000000000000000', 'line 1: xcr0: value 0x10000000000000000 out of range for 64 bits'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseXcrs(text)).toThrow(formatError(message));
  });

  it('refuses an XCR KVM does not have', () => {
    expect(() => applyXcrs(xcrs, parseXcrs('xcr1 0'))).toThrow(formatError('unknown register xcr1 (KVM has xcr0)'));
  });
});

import { describe, expect, it } from 'vitest';
import { pageCount, parseManifest, parseRanges, renderManifest, renderRanges, type Manifest } from '../../../../src/cli/save-restore/manifest.js';

const ID = `0x${'ab'.repeat(16)}`;
const BASE_ID = `0x${'cd'.repeat(16)}`;

const full: Manifest = {
  format: 1, id: ID, vm: '/tmp/m/vm 0', memorySize: 0x100000, memoryPages: 3, vcpus: [0, 1],
  saved: ['irqchip', 'vcpu0/regs', 'vcpu1/regs'], missing: [],
};
const increment: Manifest = { ...full, since: { path: '../s 0', id: BASE_ID }, missing: ['vcpu0/xsave'] };

describe('manifest', () => {
  it('renders name value lines a person can read', () => {
    expect(renderManifest(increment)).toBe([
      'format 1',
      `id ${ID}`,
      'vm /tmp/m/vm 0',
      'memory_size 0x0000000000100000',
      'memory_pages 0x0000000000000003',
      'vcpus 0 1',
      'since ../s 0',
      `since_id ${BASE_ID}`,
      'saved irqchip',
      'saved vcpu0/regs',
      'saved vcpu1/regs',
      'missing vcpu0/xsave',
      '',
    ].join('\n'));
  });

  it.each([['a full save', full], ['an increment', increment], ['no vcpus', { ...full, vcpus: [] }]])('parses what it renders: %s', (_, manifest) => {
    expect(parseManifest(renderManifest(manifest))).toEqual(manifest);
  });

  const good = renderManifest(full);
  it.each([
    ['another format', good.replace('format 1', 'format 2'), 'format 2 (this kvmfs reads format 1)'],
    ['no id', good.replace(/^id .*\n/m, ''), 'no "id" line'],
    ['a bad id', good.replace(ID, '0x12'), 'bad id "0x12"'],
    ['an unknown field', `${good}colour blue\n`, 'line 11: unknown field "colour"'],
    ['a field twice', `${good}vcpus 0\n`, 'line 11: "vcpus" given twice'],
    ['a path out of the save', `${good}saved ../etc/passwd\n`, 'line 11: bad path "../etc/passwd"'],
    ['an absolute path', `${good}saved /etc/passwd\n`, 'line 11: bad path "/etc/passwd"'],
    ['a bad size', good.replace('memory_size 0x0000000000100000', 'memory_size lots'), 'memory_size: bad number "lots"'],
    ['a bad vcpu number', good.replace('vcpus 0 1', 'vcpus 0 one'), 'vcpus: bad number "one"'],
    ['since without its id', good.replace('since none', 'since ../s0'), 'no "since_id" line'],
    ['empty', '', 'no "format" line'],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseManifest(text)).toThrow(message);
  });
});

describe('memory.ranges', () => {
  it('renders one "gpa length" line per range and parses it back', () => {
    const text = renderRanges([[0x1000, 0x2000], [0x10000, 0x1000]]);
    expect(text).toBe('0x0000000000001000 0x0000000000002000\n0x0000000000010000 0x0000000000001000\n');
    expect(parseRanges(text, 0x100000)).toEqual([[0x1000, 0x2000], [0x10000, 0x1000]]);
    expect(pageCount(parseRanges(text, 0x100000))).toBe(3);
    expect(parseRanges('', 0)).toEqual([]);
  });

  it.each([
    ['not page-aligned', '0x1800 0x1000', 'line 1: not whole pages'],
    ['part of a page', '0x1000 0x800', 'line 1: not whole pages'],
    ['empty range', '0x1000 0x0', 'line 1: not whole pages'],
    ['past the end', '0xff000 0x2000', 'line 1: range ends past memory_size 0x0000000000100000'],
    ['overlapping', '0x1000 0x2000\n0x2000 0x1000', 'line 2: ranges out of order or overlapping'],
    ['out of order', '0x5000 0x1000\n0x1000 0x1000', 'line 2: ranges out of order or overlapping'],
    ['one number', '0x1000', 'line 1: expected "<gpa> <length>"'],
    ['not a number', '0x1000 many', 'line 1: bad number "many"'],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseRanges(text, 0x100000)).toThrow(message);
  });
});

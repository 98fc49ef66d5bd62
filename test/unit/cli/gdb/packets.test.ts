import { describe, expect, it } from 'vitest';
import { checksum, frame, fromHex, PacketReader, toHex } from '../../../../src/cli/gdb/packets.js';

describe('framing', () => {
  it.each([
    ['', '$#00'],
    ['OK', '$OK#9a'],
    ['qSupported', '$qSupported#37'],
    ['a#b$c}d*e', '$a}\x03b}\x04c}]d}\ne#51'],
  ])('frames %j', (payload, wire) => {
    expect(frame(payload)).toBe(wire);
  });

  it('checksums modulo 256', () => {
    expect(checksum('g')).toBe('67');
    expect(checksum('\xff\xff')).toBe('fe');
  });
});

describe('PacketReader', () => {
  it('takes packets split anywhere, skips acks, unescapes', () => {
    const reader = new PacketReader();
    const wire = `+${frame('m1000,4')}+${frame('a}b')}`;
    const found = [...wire].flatMap((c) => reader.push(Buffer.from(c, 'latin1')));
    expect(found).toEqual([{ kind: 'packet', payload: 'm1000,4' }, { kind: 'packet', payload: 'a}b' }]);
  });

  it('reports Ctrl-C between packets', () => {
    const reader = new PacketReader();
    expect(reader.push(Buffer.from(`\x03${frame('?')}`, 'latin1'))).toEqual([{ kind: 'interrupt' }, { kind: 'packet', payload: '?' }]);
  });

  it('drops a packet with a bad checksum and says so', () => {
    let bad = 0;
    const reader = new PacketReader(() => { bad++; });
    expect(reader.push(Buffer.from('$g#00$g#67'))).toEqual([{ kind: 'packet', payload: 'g' }]);
    expect(bad).toBe(1);
  });
});

describe('hex', () => {
  it('round-trips bytes', () => {
    expect(toHex(Uint8Array.from([0, 0xab, 0x10]))).toBe('00ab10');
    expect([...fromHex('00ab10')]).toEqual([0, 0xab, 0x10]);
    expect(() => fromHex('abc')).toThrow(/bad hex/);
  });
});

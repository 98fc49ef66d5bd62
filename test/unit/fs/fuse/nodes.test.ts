import { describe, expect, it } from 'vitest';
import { childPath, NodeTable } from '../../../../src/fs/fuse/nodes.js';
import { ROOT_ID } from '../../../../src/fs/fuse/protocol.js';

describe('NodeTable', () => {
  it('starts with the root only: id 1, path /', () => {
    const nodes = new NodeTable();
    expect([nodes.path(ROOT_ID), nodes.peek('/'), nodes.size]).toEqual(['/', 1, 1]);
    expect(nodes.path(2)).toBeUndefined();
    expect(nodes.peek('/vm0')).toBeUndefined();
  });

  it('lookup gives a new path a new id, and the same path the same id', () => {
    const nodes = new NodeTable();
    const vm = nodes.lookup('/vm0');
    const vcpu = nodes.lookup('/vm0/vcpu0');
    expect(vm).not.toBe(ROOT_ID);
    expect(vcpu).not.toBe(vm);
    expect(nodes.lookup('/vm0')).toBe(vm);
    expect([nodes.path(vm), nodes.path(vcpu), nodes.peek('/vm0'), nodes.peek('/vm0/vcpu0'), nodes.size])
      .toEqual(['/vm0', '/vm0/vcpu0', vm, vcpu, 3]);
  });

  it('lookup of / is the root', () => {
    expect(new NodeTable().lookup('/')).toBe(ROOT_ID);
  });

  it.each<[string, number, number[], boolean]>([
    ['one lookup, forgotten once', 1, [1], false],
    ['three lookups, one forgotten', 3, [1], true],
    ['three lookups, two forgotten at once', 3, [2], true],
    ['three lookups, forgotten 1 then 2', 3, [1, 2], false],
    ['three lookups, forgotten 1, 1, 1', 3, [1, 1, 1], false],
    ['three lookups, forgotten all at once', 3, [3], false],
    ['two lookups, more forgotten than held', 2, [5], false],
  ])('forget: %s', (_, lookups, forgets, held) => {
    const nodes = new NodeTable();
    let id = 0;
    for (let i = 0; i < lookups; i++) id = nodes.lookup('/vm0');
    for (const n of forgets) nodes.forget(id, n);
    expect(nodes.path(id)).toBe(held ? '/vm0' : undefined);
    expect(nodes.peek('/vm0')).toBe(held ? id : undefined);
    expect(nodes.size).toBe(held ? 2 : 1);
  });

  it.each([1, 2, 1000])('forgetting the root (%i) never removes it', (n) => {
    const nodes = new NodeTable();
    nodes.lookup('/');
    nodes.forget(ROOT_ID, n);
    nodes.forget(ROOT_ID, n);
    expect([nodes.path(ROOT_ID), nodes.peek('/'), nodes.size]).toEqual(['/', ROOT_ID, 1]);
  });

  it('forgetting an unknown or already forgotten id changes nothing', () => {
    const nodes = new NodeTable();
    const vm = nodes.lookup('/vm0');
    nodes.forget(99, 1);
    expect(nodes.path(vm)).toBe('/vm0');
    nodes.forget(vm, 1);
    nodes.forget(vm, 1);
    expect([nodes.path(vm), nodes.size]).toEqual([undefined, 1]);
  });

  it('forgetting one node leaves the others', () => {
    const nodes = new NodeTable();
    const a = nodes.lookup('/a');
    const b = nodes.lookup('/b');
    nodes.forget(a, 1);
    expect([nodes.path(a), nodes.path(b), nodes.peek('/b')]).toEqual([undefined, '/b', b]);
  });

  it('ids are fresh after a forget: a forgotten id never comes back, for the same path or another', () => {
    const nodes = new NodeTable();
    const seen = new Set<number>([ROOT_ID]);
    for (let round = 0; round < 50; round++) {
      for (const path of ['/a', '/b', '/a/c']) {
        const id = nodes.lookup(path);
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
      nodes.forget(nodes.peek(round % 2 ? '/a' : '/b')!, 1);
      nodes.forget(nodes.peek('/a/c')!, 1);
      const still = round % 2 ? '/b' : '/a';
      nodes.forget(nodes.peek(still)!, 1);
      expect(nodes.size).toBe(1);
    }
  });

  it('held ids keep their paths while others come and go', () => {
    const nodes = new NodeTable();
    const held = nodes.lookup('/held');
    for (let i = 0; i < 20; i++) nodes.forget(nodes.lookup(`/tmp${i}`), 1);
    expect([nodes.path(held), nodes.peek('/held'), nodes.size]).toEqual(['/held', held, 2]);
  });
});

describe('childPath', () => {
  it.each([
    ['/', 'a', '/a'],
    ['/a', 'b', '/a/b'],
    ['/vm0/vcpu0', 'regs', '/vm0/vcpu0/regs'],
    ['/', 'é', '/é'],
  ])('childPath(%j, %j) = %j', (parent, name, path) => {
    expect(childPath(parent, name)).toBe(path);
  });
});

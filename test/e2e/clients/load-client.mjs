#!/usr/bin/env node
// kvmfs load client, run by test/e2e/load.test.ts as a child process (the
// test process never touches the mount). Two roles:
//
//   node load-client.mjs run  <vcpu dir> <duration ms>
//     reads <vcpu dir>/run at offset 0 in a loop (each read is one KVM_RUN to
//     the next exit) for the duration; every result must be an exit line.
//
//   node load-client.mjs read <mount> <duration ms> <seed> <vm>[,<vm>...]
//     reads regs, sregs, memory (a few pages), dirty_log and capabilities of
//     random VMs and vcpus in a loop for the duration, checking the shape of
//     what comes back.
//
// Each operation is timed. The last line on stdout is a JSON summary: per
// kind, the operations done, errors by errno, bad results, operations over
// 5 s (hangs), max and total ms.
import fs from 'node:fs';
import { seededRandom } from './seeded-random.mjs';

const [role, ...rest] = process.argv.slice(2);
const kinds = {};
const examples = [];

function kind(name) {
  kinds[name] ??= { ops: 0, errors: {}, bad: 0, over5s: 0, maxMs: 0, totalMs: 0 };
  return kinds[name];
}

/** Times `operation`; an errno is recorded, a bad result (a string) counted with an example. */
function timed(name, operation) {
  const k = kind(name);
  const start = performance.now();
  let problem;
  try {
    problem = operation();
  } catch (error) {
    if (typeof error?.code !== 'string') throw error;
    k.errors[error.code] = (k.errors[error.code] ?? 0) + 1;
    if (examples.length < 10) examples.push({ kind: name, errno: error.code, message: error.message });
  }
  const took = performance.now() - start;
  k.ops++;
  k.totalMs += took;
  if (took > k.maxMs) k.maxMs = took;
  if (took > 5000) k.over5s++;
  if (problem) {
    k.bad++;
    if (examples.length < 10) examples.push({ kind: name, bad: problem });
  }
}

const buffer = Buffer.alloc(64 * 1024);
/** One read at offset 0 of an open file: a fresh snapshot (or, for run, one run). */
function snapshot(fd) {
  return buffer.toString('latin1', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
}

const EXIT_LINE = /^(io out port=0x00e9 size=1 count=1 data=0x[0-9a-f]{2}|intr)\n$/;
const REGS_TEXT = /^(\S+ 0x[0-9a-f]{16}\n){18}$/;
const SREGS_LINES = 18; // 8 segments, gdt, idt, 7 control registers, interrupt_bitmap

function runLoop(vcpuDir, durationMs) {
  const fd = fs.openSync(`${vcpuDir}/run`, 'r+');
  const exits = {};
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    timed('run', () => {
      const line = snapshot(fd);
      const name = line.split(' ')[0].trim();
      exits[name] = (exits[name] ?? 0) + 1;
      return EXIT_LINE.test(line) ? undefined : `run gave ${JSON.stringify(line)}`;
    });
  }
  fs.closeSync(fd);
  return { exits };
}

function readLoop(mount, durationMs, seed, vms) {
  const random = seededRandom(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  // one open file per (vm, file), reused: a read at offset 0 is a fresh snapshot
  const open = new Map();
  const fdOf = (path) => {
    if (!open.has(path)) open.set(path, fs.openSync(path, 'r'));
    return open.get(path);
  };
  const pages = Buffer.alloc(3 * 4096);
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const vm = `${mount}/${pick(vms)}`;
    const vcpu = `${vm}/vcpu${pick([0, 1])}`;
    switch (pick(['regs', 'sregs', 'memory', 'dirty_log', 'capabilities'])) {
      case 'regs':
        timed('regs', () => {
          const text = snapshot(fdOf(`${vcpu}/regs`));
          return REGS_TEXT.test(text) ? undefined : `regs gave ${JSON.stringify(text.slice(0, 200))}`;
        });
        break;
      case 'sregs':
        timed('sregs', () => {
          const text = snapshot(fdOf(`${vcpu}/sregs`));
          const lines = text.split('\n');
          return lines.length === SREGS_LINES + 1 && lines[0].startsWith('cs base=0x0000000000000000 ') ? undefined : `sregs gave ${JSON.stringify(text.slice(0, 200))}`;
        });
        break;
      case 'memory':
        timed('memory', () => {
          // three pages at a random page of the first 1 MiB, sometimes the guest code's
          const page = random() < 0.25 ? 1 : Math.floor(random() * 254);
          const n = fs.readSync(fdOf(`${vm}/memory`), pages, 0, pages.length, page * 4096);
          if (n !== pages.length) return `memory read of ${pages.length} bytes at page ${page} gave ${n}`;
          if (page === 1 && pages.readUInt32BE(0) !== 0xe6e9ebfc) return `the guest code at 0x1000 reads ${pages.subarray(0, 4).toString('hex')}`;
          return undefined;
        });
        break;
      case 'dirty_log':
        timed('dirty_log', () => {
          const n = snapshot(fdOf(`${vm}/dirty_log`)).length;
          return n === 32 ? undefined : `dirty_log of 1 MiB gave ${n} bytes, not 32`;
        });
        break;
      case 'capabilities':
        timed('capabilities', () => {
          const text = snapshot(fdOf(`${mount}/capabilities`));
          return /^user_memory 1$/m.test(text) ? undefined : `capabilities gave ${JSON.stringify(text.slice(0, 100))}`;
        });
        break;
    }
  }
  for (const fd of open.values()) fs.closeSync(fd);
  return {};
}

let extra;
if (role === 'run') {
  const [vcpuDir, duration] = rest;
  extra = runLoop(vcpuDir, Number(duration));
} else if (role === 'read') {
  const [mount, duration, seed, vms] = rest;
  extra = readLoop(mount, Number(duration), Number(seed), vms.split(','));
} else {
  process.stderr.write('usage: load-client.mjs run <vcpu dir> <ms> | read <mount> <ms> <seed> <vm,...>\n');
  process.exit(2);
}
for (const k of Object.values(kinds)) {
  k.maxMs = Math.round(k.maxMs * 10) / 10;
  k.totalMs = Math.round(k.totalMs);
}
process.stdout.write(`${JSON.stringify({ role, kinds, examples, ...extra })}\n`);

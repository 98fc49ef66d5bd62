// The CPUs ring queues are kept for, and pinning a thread to one.
import { readFileSync } from 'node:fs';
import { schedSetaffinity } from '../../sys/libc.js';

/** cpu_set_t with every CPU in it (the kernel keeps those that exist) */
export const EVERY_CPU = Buffer.alloc(128, 0xff);

/** Keeps the calling thread on `cpu`; false if that cannot be (the CPU is offline). */
export function pinToCpu(cpu: number): boolean {
  const mask = cpuMask(cpu);
  return schedSetaffinity(0, mask.length, mask) === 0;
}

/** A cpu_set_t holding `cpu` alone. */
export function cpuMask(cpu: number): Buffer {
  const mask = Buffer.alloc(128);
  mask[cpu >> 3] = 1 << (cpu & 7);
  return mask;
}

/** The CPUs the kernel may ever run (/sys/devices/system/cpu/possible): it keeps one ring queue for each. */
export function possibleCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
}

/** A kernel CPU list ("0-3,8,10-11") as CPU numbers. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const range of text.trim().split(',')) {
    const [first, last = first] = range.split('-').map(Number) as [number, number?];
    if (!Number.isInteger(first) || !Number.isInteger(last)) throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

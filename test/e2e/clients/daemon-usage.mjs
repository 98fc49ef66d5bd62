// The daemon's resident set, threads and open fds, from /proc: shared by the
// tests (through harness.ts) and the soak (plain node), so both count alike.
// Threads the kernel runs in the process's name and ends by itself (KVM's
// kvm-nx-lpage-recovery per VM, io_uring's iou-wrk workers, gone after 5 s
// idle) are not the daemon's, and not counted.
import { readdirSync, readFileSync } from 'node:fs';

/** @param {number} pid @returns {{ rssKiB: number, threads: number, fds: number }} */
export function daemonUsage(pid) {
  const proc = `/proc/${pid}`;
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`${proc}/status`, 'utf8'))?.[1]);
  const threads = readdirSync(`${proc}/task`).filter((task) => {
    try {
      return !/^(kvm-|iou-)/.test(readFileSync(`${proc}/task/${task}/comm`, 'utf8'));
    } catch {
      return false; // it ended meanwhile
    }
  }).length;
  return { rssKiB, threads, fds: readdirSync(`${proc}/fd`).length };
}

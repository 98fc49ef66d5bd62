// What `kvmfs doctor` says of this host's guest debugging, for the suites
// whose tests depend on it (debug, gdb): read once per suite.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cli } from './harness.js';

/** `kvmfs doctor`'s stdout (a failing check still prints the others). */
export const doctor: string = (await promisify(execFile)(process.execPath, [cli, 'doctor']).catch((error: { stdout: string }) => error)).stdout;

/** doctor's write watchpoint line; [1] is `honoured` or `not honoured`. */
export const watchLine = /^ok {4}hardware watchpoints: write watchpoints (honoured|not honoured): .+$/m.exec(doctor);
export const watchpointsHonoured = watchLine?.[1] === 'honoured';

/** Says loudly on stderr that `what` is skipped because write watchpoints are not honoured here. */
export function sayWatchpointsSkipped(what: string): void {
  process.stderr.write(`\n*** SKIPPING ${what}: this host's KVM does not honour data breakpoints (kvmfs doctor: "hardware watchpoints: write watchpoints not honoured", as on kvm_pvm) ***\n\n`);
}

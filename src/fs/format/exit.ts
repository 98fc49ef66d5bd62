// The vcpu's run file: one line per KVM_RUN exit, and the data a user writes
// back for the guest after an `io in` or `mmio read` exit.
import type { ExitInput, VcpuExit } from '../../backend/types.js';
import { FormatError } from './errors.js';
import { hex, parseUint } from './numbers.js';

/** One line naming the exit, in lower case, then its fields. */
export function renderExit(exit: VcpuExit): string {
  return `${exitFields(exit)}\n`;
}

function exitFields(e: VcpuExit): string {
  switch (e.kind) {
    case 'io': {
      const head = `io ${e.direction} port=${hex(e.port, 4)} size=${e.size} count=${e.count}`;
      if (e.direction === 'in') return head;
      return `${head} data=${(e.data ?? []).map((value) => hex(value, e.size * 2)).join(',')}`;
    }
    case 'mmio': {
      const head = `mmio ${e.isWrite ? 'write' : 'read'} addr=${hex(e.addr, 16)} len=${e.len}`;
      return e.isWrite ? `${head} data=${hex(e.data ?? 0n, e.len * 2)}` : head;
    }
    case 'hlt':
    case 'shutdown':
    case 'intr':
      return e.kind;
    case 'fail_entry':
      return `fail_entry reason=${hex(e.reason, 16)} cpu=${e.cpu}`;
    case 'internal_error':
      return `internal_error suberror=${e.suberror}`;
    case 'debug':
      return `debug pc=${hex(e.pc, 16)} exception=${e.exception} dr6=${hex(e.dr6, 16)} dr7=${hex(e.dr7, 16)}`;
    case 'system_event':
      return `system_event type=${e.type} flags=${hex(e.flags, 16)}`;
    case 'unknown': {
      const head = `unknown reason=${e.reason}`;
      return e.hardwareExitReason === undefined ? head
        : `${head} hardware_exit_reason=${hex(e.hardwareExitReason, 16)}`;
    }
  }
}

/**
 * The values a write to run gives the guest for the pending exit: numbers
 * separated by commas and/or whitespace, optionally after `data=` (so the
 * data= field of an exit line is accepted too). An `io in` takes exactly
 * `count` values of `size` bytes, an `mmio read` one value of `len` bytes.
 */
export function parseExitInput(text: string, pending: VcpuExit | undefined): ExitInput {
  const expected = expectedInput(pending);
  const list = text.trim().replace(/^data=/, '').trim();
  const tokens = list === '' ? [] : list.split(/\s*,\s*|\s+/);
  if (tokens.length !== expected.count) {
    const plural = expected.count === 1 ? '' : 's';
    throw new FormatError(`expected ${expected.count} value${plural} (${expected.countNote}), got ${tokens.length}`);
  }
  const values = tokens.map((token) => {
    try {
      return parseUint(token, expected.bytes * 8);
    } catch (err) {
      throw err instanceof FormatError ? new FormatError(`${err.reason} (${expected.sizeNote})`) : err;
    }
  });
  return { values };
}

/** How many values of how many bytes the pending exit takes, and the exit fields saying so. */
function expectedInput(pending: VcpuExit | undefined) {
  if (pending?.kind === 'io' && pending.direction === 'in') {
    return { count: pending.count, bytes: pending.size, countNote: `count=${pending.count}`, sizeNote: `size=${pending.size}` };
  }
  if (pending?.kind === 'mmio' && !pending.isWrite) {
    return { count: 1, bytes: pending.len, countNote: 'mmio read', sizeNote: `len=${pending.len}` };
  }
  throw new FormatError('no io in or mmio read is waiting for data');
}

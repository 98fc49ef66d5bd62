// The fuzz client's cases: one generated input for one file each, with the
// outcomes it allows. They depend only on the random draws, never on what
// the daemon answered.
import { chance, int, pick, weighted } from './fuzz-random.mjs';
import { isBlank, MAX_TEXT_WRITE } from './fuzz-contract.mjs';
import {
  assemble, badNumber, badRegsLine, badSregsLine, CONTROL_BYTES, format, insert, INVALID_UTF8, junk, oneMiB, validRegs, validSregs, value,
} from './fuzz-lines.mjs';
import { dirCase, memoryCase } from './fuzz-tree-cases.mjs';

/**
 * Text writes (regs or sregs): a case with `data`, `offset`, `fresh` (a new
 * open for this write) and `expect` (the outcomes the case allows).
 */
export function textCase(file) {
  const isRegs = file === 'regs';
  const valid = () => (isRegs ? validRegs() : validSregs());
  const bad = (used) => (isRegs ? badRegsLine(used) : badSregsLine(used));
  const kind = weighted([
    [12, 'valid'],
    [40, 'bad-line'],
    [6, 'nul'],
    [6, 'control'],
    [6, 'utf8'],
    [2, 'lone-cr'],
    [3, 'empty'],
    [4, 'binary'],
    [3, 'odd-offset'],
    [1, 'too-large'],
    [0.3, 'one-mib'],
    [0.15, 'exactly-64k'],
    [1, 'no-newline'],
    [isRegs ? 2 : 0, 'continue'],
  ]);
  const good = valid();
  const text = assemble(good.map((l) => l.text));
  const must = (ok) => (ok ? ['ok'] : ['EINVAL']);
  switch (kind) {
    case 'valid':
    case 'no-newline': {
      const data = kind === 'valid' ? text : text.replace(/\r?\n$/, '');
      const safe = isRegs || good.every((l) => l.safe);
      return { gen: `${file}:${kind}`, data: Buffer.from(data), expect: safe ? ['ok'] : ['ok', 'EINVAL'] };
    }
    case 'bad-line': {
      const kept = good.slice(0, int(good.length + 1));
      const lines = kept.map((l) => l.text);
      lines.splice(int(lines.length + 1), 0, bad(kept.map((l) => l.name)));
      return { gen: `${file}:bad-line`, data: Buffer.from(assemble(lines)), expect: must(false) };
    }
    case 'nul': return { gen: `${file}:nul`, data: insert(text, Array(1 + int(3)).fill(0)), expect: must(false) };
    case 'control': return { gen: `${file}:control`, data: insert(text, [pick(CONTROL_BYTES)]), expect: must(false) };
    case 'utf8': return { gen: `${file}:utf8`, data: insert(text, pick(INVALID_UTF8)), expect: must(false) };
    case 'lone-cr': {
      // a \r anywhere but right before a newline or at the very end
      const body = text.replace(/\r?\n$/, '');
      let at = int(body.length);
      while (body[at] === '\n') at = int(body.length);
      const data = `${body.slice(0, at)}\r${body.slice(at) || 'x'}\n`;
      return { gen: `${file}:lone-cr`, data: Buffer.from(data), expect: must(false) };
    }
    case 'empty': {
      const data = pick(['\n', ' ', '\t \n', '\r\n', '\n\n\n', '   \n\t\n', '']);
      return { gen: `${file}:empty`, data: Buffer.from(data), expect: ['ok'] }; // a blank write is a no-op
    }
    case 'binary': {
      const data = junk(1 + int(300));
      return { gen: `${file}:binary`, data, expect: undefined }; // the grammar decides
    }
    case 'odd-offset': {
      const offset = chance(0.8) ? 1 + int(200) : pick([4096, 65536, 2 ** 32, 2 ** 40 + 3]);
      return { gen: `${file}:odd-offset`, data: Buffer.from(text), offset, fresh: true, expect: must(false) };
    }
    case 'too-large': {
      const size = MAX_TEXT_WRITE + 1 + int(64 * 1024 - 1);
      const data = Buffer.alloc(size, 0x0a);
      Buffer.from(text).copy(data);
      return { gen: `${file}:too-large`, data, expect: must(false) };
    }
    case 'one-mib': return { gen: `${file}:one-mib`, data: oneMiB(), expect: must(false) };
    case 'continue': {
      // two writes on one open file: the second where the first ended (its own change) or past it (EINVAL)
      const gap = chance(0.7) ? 0 : 1 + int(10);
      const second = Buffer.from(assemble(valid().map((l) => l.text)));
      return { gen: `${file}:continue`, data: Buffer.from(text), second, gap, fresh: true, expect: ['ok'], secondExpect: gap === 0 ? ['ok'] : ['EINVAL'] };
    }
    case 'exactly-64k': {
      // a valid write padded with blank lines to exactly the largest size taken
      const data = Buffer.alloc(MAX_TEXT_WRITE, 0x0a);
      Buffer.from(text.replace(/\r/g, '')).copy(data);
      const safe = isRegs || good.every((l) => l.safe);
      return { gen: `${file}:exactly-64k`, data, expect: safe ? ['ok'] : ['ok', 'EINVAL'] };
    }
  }
  throw new Error(kind);
}

/** Answers written to run: `pending` says whether an `io in` (size 1, count 1) is waiting. */
export function runCase(pending) {
  const v = value(8);
  const kind = weighted([[pending ? 30 : 10, 'valid'], [8, 'two'], [4, 'none'], [6, 'wide'], [6, 'bad'], [4, 'junk'], [1, 'odd-offset'], [0.3, 'too-large']]);
  const ws = () => pick(['', ' ', '\n', ' \n', '\t']);
  let data;
  switch (kind) {
    case 'valid': data = `${ws()}${chance(0.3) ? 'data=' : ''}${format(v)}${ws()}`; break;
    case 'two': data = `${format(v)}${pick([',', ', ', ' ', ',\t'])}${format(value(8))}\n`; break;
    case 'none': data = pick(['\n', ' ', 'data=', 'data=\n', ',', ' , ']); break;
    case 'wide': data = `${chance(0.3) ? 'data=' : ''}${format(256n + value(8) + (chance(0.5) ? 0n : value(64) & ~0xffn))}\n`; break;
    case 'bad': data = `${badNumber(8)}\n`; break;
    case 'junk': data = junk(1 + int(64)); break;
    case 'odd-offset': data = `${format(v)}\n`; break;
    case 'too-large': data = Buffer.alloc(MAX_TEXT_WRITE + 1 + int(1000), 0x20); break;
  }
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const offset = kind === 'odd-offset' ? 1 + int(50) : 0;
  let expect;
  if (kind === 'odd-offset' || kind === 'too-large') expect = ['EINVAL'];
  else if (isBlank(buffer)) expect = ['ok']; // a no-op, pending or not (junk may be blank too): not an answer
  else if (!pending) expect = ['EINVAL'];
  else if (kind === 'valid') expect = ['ok'];
  else if (kind === 'junk') expect = undefined;
  else expect = ['EINVAL'];
  return { gen: `run:${pending ? 'pending' : 'idle'}:${kind}`, data: buffer, offset, fresh: offset !== 0, expect, answer: kind === 'valid' && expect?.[0] === 'ok' ? v : undefined };
}

export function interruptCase() {
  const vector = BigInt(int(256));
  const ws = () => pick(['', '', ' ', '\n', ' \n', '\t', '\r\n']);
  const kind = weighted([[8, 'valid'], [1, 'odd-space'], [3, 'range'], [4, 'bad'], [2, 'two'], [2, 'empty'], [2, 'junk'], [1, 'odd-offset'], [0.3, 'too-large']]);
  let data;
  switch (kind) {
    case 'valid': case 'odd-offset': data = `${ws()}${format(vector)}${ws()}`; break;
    case 'odd-space': data = `${pick(['\x0b', '\x0c', '\u00a0', '\ufeff', '\u2028'])}${format(vector)}\n`; break;
    case 'range': data = `${format(256n + (chance(0.5) ? BigInt(int(1000)) : value(64) & ~0xffn | 0x100n))}\n`; break;
    case 'bad': data = `${badNumber(64)}\n`; break;
    case 'two': data = `${format(vector)}${pick([' ', ',', '\n', ' 0x'])}${format(BigInt(int(256)))}\n`; break;
    case 'empty': data = pick(['\n', ' ', '\t\n', '\r\n']); break;
    case 'junk': data = junk(1 + int(32)); break;
    case 'too-large': data = Buffer.alloc(MAX_TEXT_WRITE + 1, 0x20); break;
  }
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const offset = kind === 'odd-offset' ? 1 + int(50) : 0;
  let expect;
  if (kind === 'valid') expect = ['ok', 'EEXIST', 'ENXIO'];
  else if (kind === 'empty') expect = ['ok']; // a blank write is a no-op
  else if (kind === 'junk' || kind === 'odd-space') expect = undefined; // the grammar decides
  else expect = ['EINVAL'];
  return { gen: `interrupt:${kind}`, data: buffer, offset, fresh: offset !== 0, expect };
}

export function stopCase() {
  const kind = weighted([[6, 'text'], [3, 'junk'], [1, 'odd-offset'], [0.3, 'too-large']]);
  switch (kind) {
    case 'text': return { gen: 'stop:text', data: Buffer.from(pick(['1\n', 'stop\n', '\n', 'x', '0', 'please'])), expect: ['ok'] };
    case 'junk': return { gen: 'stop:junk', data: junk(1 + int(200)), expect: ['ok'] };
    case 'odd-offset': return { gen: 'stop:odd-offset', data: Buffer.from('1\n'), offset: 1 + int(100), fresh: true, expect: ['EINVAL'] };
    default: return { gen: 'stop:too-large', data: Buffer.alloc(MAX_TEXT_WRITE + 1 + int(100), 0x31), expect: ['EINVAL'] };
  }
}

export function nextCase(index) {
  const target = weighted([
    [30, 'vcpu0/regs'], [30, 'vcpu0/sregs'], [5, 'vcpu0/run'], [5, 'vcpu1/run'], [6, 'vcpu0/interrupt'],
    [3, 'stop'], [14, 'memory'], [1, 'dir'],
  ]);
  let c;
  switch (target) {
    case 'vcpu0/regs': c = { ...textCase('regs'), file: target }; break;
    case 'vcpu0/sregs': c = { ...textCase('sregs'), file: target }; break;
    case 'vcpu0/run': c = { ...runCase(false), file: target }; break;
    case 'vcpu1/run': c = { ...runCase(true), file: target }; break;
    case 'vcpu0/interrupt': c = { ...interruptCase(), file: target }; break;
    case 'stop': c = { ...stopCase(), file: pick(['vcpu0/stop', 'vcpu1/stop']) }; break;
    case 'memory': c = memoryCase(); break;
    case 'dir': c = dirCase(); break;
  }
  c.index = index;
  return c;
}

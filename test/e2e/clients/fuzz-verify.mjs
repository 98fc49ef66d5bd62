// State is compared, not assumed: the regs and sregs last read, the cases
// since then that must not have changed them, and what an accepted write
// may change.
import { GROUP } from './fuzz-args.mjs';
import { hex, REGS, SEGMENTS } from './fuzz-contract.mjs';
import { fds, readState, snapshot } from './fuzz-io.mjs';
import { fail, summary } from './fuzz-results.mjs';

/** regs text -> Map name -> value text */
function parseNameValue(text) {
  const map = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    map.set(line.slice(0, space), line.slice(space + 1));
  }
  return map;
}
/** `a=b c=d` -> Map */
function parseFields(text) {
  return new Map(text.split(' ').map((kv) => kv.split('=')));
}

// Group verification: `verified` is the state last read; `pending` are the
// cases since then that must not have changed it.
let verified;
let pending = [];

/** Takes the state as it is now as the verified one (at the start, and after a failure was reported). */
export function resync() {
  verified = readState();
  pending = [];
}

export function verifyUnchanged() {
  if (pending.length === 0) return;
  const now = readState();
  if (now.regs !== verified.regs || now.sregs !== verified.sregs) {
    fail('partialApplications', 'state changed by writes that must not change it', pending, { diff: diffText(verified, now) });
    verified = now;
  }
  pending = [];
}

export function noChange(c) {
  pending.push(c);
  if (pending.length >= GROUP) verifyUnchanged();
}

function diffText(before, after) {
  const out = [];
  for (const key of ['regs', 'sregs']) {
    const b = before[key].split('\n');
    const a = after[key].split('\n');
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) out.push(`- ${b[i] ?? ''}`, `+ ${a[i] ?? ''}`);
    }
  }
  return out.slice(0, 20);
}

/**
 * KVM's own adjustments of what it was given (not kvmfs's doing): rflags
 * bit 1 is always set and VM (bit 17) may be cleared; cr8 ignores values
 * with reserved bits; cr0.ET is forced; interrupt_bitmap holds one queued
 * vector (the lowest written) and writing zeros does not clear it; segment
 * attributes of a not-present/unusable segment, g (SVM derives it from the
 * limit), type's accessed/busy bits and ss.dpl (SVM: the CPL) may be
 * normalized.
 */
function adjustedOk(line, field, written, got, old, gotFields) {
  if (line === 'rflags') return got === (written | 2n) || got === ((written | 2n) & ~0x20000n);
  if (line === 'cr8') return written > 15n && got === old;
  if (line === 'cr0') return got === (written | 0x10n);
  if (line === 'interrupt_bitmap') return true; // checked as a whole below
  if (SEGMENTS.includes(line)) {
    const present = gotFields.get('present') === '1' && gotFields.get('unusable') === '0';
    if (!present && !['base', 'limit', 'selector'].includes(field)) return true;
    if (field === 'g') return got === (BigInt(gotFields.get('limit')) > 0xfffffn ? 1n : 0n);
    if (field === 'type') return got === (written | 1n) || (line === 'tr' && got === (written | 2n));
    if ((field === 'present' || field === 'unusable') && gotFields.get('present') !== gotFields.get('unusable')) return true;
  }
  return false;
}

function noteAdjusted(c, what) {
  summary.kvmAdjusted++;
  if (summary.adjustedExamples.length < 5) summary.adjustedExamples.push({ gen: c.gen, case: c.index, what });
}

/** An accepted regs write: the new text is the old with the named registers replaced. */
export function checkRegsWrite(c, patch) {
  const now = { regs: snapshot(fds.regs), sregs: verified.sregs };
  const blame = [...pending, c];
  const old = parseNameValue(verified.regs);
  const got = parseNameValue(now.regs);
  for (const name of REGS) {
    if (patch.has(name)) {
      const want = patch.get(name);
      const have = BigInt(got.get(name));
      if (have !== want) {
        if (adjustedOk(name, undefined, want, have, BigInt(old.get(name)))) noteAdjusted(c, `${name} ${hex(want, 16)} -> ${hex(have, 16)}`);
        else fail('wrongValues', `${name} was written ${hex(want, 16)} but reads ${got.get(name)}`, blame);
      }
    } else if (got.get(name) !== old.get(name)) {
      fail('collateralChanges', `${name} changed (${old.get(name)} -> ${got.get(name)}) though the write did not name it`, blame);
    }
  }
  verified = now;
  noChange(c); // sregs must not have changed: checked with the group
}

/** An accepted sregs (or interrupt) write: only the named lines and fields changed, to the written values. */
export function checkSregsWrite(c, patch, { freeLines = [] } = {}) {
  const now = { regs: verified.regs, sregs: snapshot(fds.sregs) };
  const blame = [...pending, c];
  const old = parseNameValue(verified.sregs);
  const got = parseNameValue(now.sregs);
  for (const [name, oldText] of old) {
    const gotText = got.get(name);
    if (freeLines.includes(name)) continue;
    if (!patch.has(name)) {
      if (gotText !== oldText) fail('collateralChanges', `${name} changed though the write did not name it: ${oldText} -> ${gotText}`, blame);
      continue;
    }
    const written = patch.get(name);
    if (name === 'interrupt_bitmap') {
      const want = gotText.split(' ').map(BigInt);
      const exact = written.every((w, i) => w === want[i]);
      if (!exact) {
        const lowest = written.findIndex((w) => w !== 0n);
        const ok = lowest === -1 ? gotText === oldText || want.every((w) => w === 0n)
          : want.every((w, i) => w === (i === lowest ? written[i] & -written[i] : 0n));
        if (ok) noteAdjusted(c, `interrupt_bitmap ${written.map((w) => hex(w, 0)).join(' ')} -> ${gotText}`);
        else fail('wrongValues', `interrupt_bitmap was written ${written.map((w) => hex(w, 0)).join(' ')} but reads ${gotText}`, blame);
      }
    } else if (written instanceof Map) {
      const oldFields = parseFields(oldText);
      const gotFields = parseFields(gotText);
      for (const [field, oldValue] of oldFields) {
        const have = BigInt(gotFields.get(field));
        const want = written.has(field) ? written.get(field) : BigInt(oldValue);
        if (have === want) continue;
        if (adjustedOk(name, field, want, have, BigInt(oldValue), gotFields)) noteAdjusted(c, `${name} ${field}=${hex(want, 0)} -> ${hex(have, 0)}`);
        else if (written.has(field)) fail('wrongValues', `${name} ${field} was written ${hex(want, 0)} but reads ${gotFields.get(field)}`, blame);
        else fail('collateralChanges', `${name} ${field} changed (${oldValue} -> ${gotFields.get(field)}) though the write did not name it`, blame);
      }
    } else {
      const have = BigInt(gotText);
      if (have !== written) {
        if (adjustedOk(name, undefined, written, have, BigInt(oldText))) noteAdjusted(c, `${name} ${hex(written, 0)} -> ${gotText}`);
        else fail('wrongValues', `${name} was written ${hex(written, 0)} but reads ${gotText}`, blame);
      }
    }
  }
  verified = now;
  noChange(c); // regs must not have changed: checked with the group
}

// Errors become errnos in one place: what each kind of thrown error turns into.
import { describe, expect, it } from 'vitest';
import { errno, FsError, toFsError } from '../../../src/fs/errors.js';
import { FormatError } from '../../../src/fs/format/errors.js';

class KernelError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: failed`);
  }
}

describe('toFsError', () => {
  it.each<[string, unknown, number, string]>([
    ['an FsError as it is', new FsError(errno.EBUSY, 'running'), errno.EBUSY, 'running'],
    ['a FormatError as EINVAL, with its line', new FormatError('unknown register "rpi"', 1), errno.EINVAL, 'line 1: unknown register "rpi"'],
    ['a backend error with KVM\'s errno, unchanged', new KernelError('KVM_SET_SREGS', 22), 22, 'KVM_SET_SREGS: failed'],
    ['an errno KVM made up, unchanged', new KernelError('KVM_RUN', 6), 6, 'KVM_RUN: failed'],
    ['anything else as EIO', new TypeError('oops'), errno.EIO, 'internal error: oops'],
    ['a thrown string as EIO', 'what', errno.EIO, 'internal error: what'],
  ])('%s', (_name, thrown, expectedErrno, message) => {
    const error = toFsError(thrown);
    expect(error.errno).toBe(expectedErrno);
    expect(error.message).toBe(message);
  });
});

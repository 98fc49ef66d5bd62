import { expect } from 'vitest';

/** Matches a thrown FormatError with exactly this message. */
export const formatError = (message: string) => expect.objectContaining({ name: 'FormatError', message });

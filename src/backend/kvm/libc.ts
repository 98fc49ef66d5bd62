// The backend's libc: the one binding in src/sys/libc.ts (re-exported so
// that backend modules keep importing it from here).
export * from '../../sys/libc.js';

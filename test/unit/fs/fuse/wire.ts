// Reading FUSE wire bytes back, little-endian at byte offsets, for the
// protocol and replies tests.
export const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
export const u16 = (bytes: Uint8Array, at: number) => viewOf(bytes).getUint16(at, true);
export const u32 = (bytes: Uint8Array, at: number) => viewOf(bytes).getUint32(at, true);
export const i32 = (bytes: Uint8Array, at: number) => viewOf(bytes).getInt32(at, true);
export const u64 = (bytes: Uint8Array, at: number) => viewOf(bytes).getBigUint64(at, true);
export const utf8 = (text: string) => new TextEncoder().encode(text);
export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

// Guests for the console tests (console.test.ts): real mode, loaded at
// 0x1000 by realModeVm. Each array is the flat binary GNU as (.code16) +
// ld -Ttext=0x1000 --oformat binary made of the assembly in the comments.
const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];

/**
 * Prints "line 0000\n" .. "line 0999\n" to port 0xe9 (rep outsb of each
 * line, then the line's four ASCII digits counted up in place), then one
 * `out %al,$0x80` (al is 0) and hlt.
 */
export const thousandLines = [
  0xba, 0xe9, 0x00,       // 0x1000: mov $0xe9, %dx
  0xbb, 0xe8, 0x03,       // 0x1003: mov $1000, %bx
  0xbe, 0x25, 0x10,       // 0x1006: 1: mov $line, %si
  0xb9, 0x0a, 0x00,       // 0x1009: mov $10, %cx
  0xfc,                   // 0x100c: cld
  0xf3, 0x6e,             // 0x100d: rep outsb
  0xbf, 0x2d, 0x10,       // 0x100f: mov $line+8, %di
  0xfe, 0x05,             // 0x1012: 2: incb (%di)
  0x80, 0x3d, 0x3a,       // 0x1014: cmpb $'9'+1, (%di)
  0x75, 0x06,             // 0x1017: jne 3f
  0xc6, 0x05, 0x30,       // 0x1019: movb $'0', (%di)
  0x4f,                   // 0x101c: dec %di
  0xeb, 0xf3,             // 0x101d: jmp 2b
  0x4b,                   // 0x101f: 3: dec %bx
  0x75, 0xe4,             // 0x1020: jnz 1b
  0xe6, 0x80,             // 0x1022: out %al, $0x80
  0xf4,                   // 0x1024: hlt
  ...ascii('line 0000\n'), // 0x1025: line: .ascii "line 0000\n"
];

/** The console the thousandLines guest writes. */
export const thousandLinesText = Array.from({ length: 1000 }, (_, n) => `line ${String(n).padStart(4, '0')}\n`).join('');

/**
 * Prints "tick 1\n" to port 0xe9, then waits until the byte at 0x3000
 * changes (the test writes it through memory) before "tick 2\n", and so on
 * up to "tick 5\n"; then hlt.
 */
export const ticks = [
  0xba, 0xe9, 0x00,             // 0x1000: mov $0xe9, %dx
  0x30, 0xdb,                   // 0x1003: xor %bl, %bl
  0xbe, 0x26, 0x10,             // 0x1005: 1: mov $msg, %si
  0xb9, 0x07, 0x00,             // 0x1008: mov $7, %cx
  0xfc,                         // 0x100b: cld
  0xf3, 0x6e,                   // 0x100c: rep outsb
  0x80, 0x3e, 0x2b, 0x10, 0x35, // 0x100e: cmpb $'5', msg+5
  0x74, 0x10,                   // 0x1013: je 3f
  0xfe, 0x06, 0x2b, 0x10,       // 0x1015: incb msg+5
  0x38, 0x1e, 0x00, 0x30,       // 0x1019: 2: cmp %bl, 0x3000
  0x74, 0xfa,                   // 0x101d: je 2b
  0x8a, 0x1e, 0x00, 0x30,       // 0x101f: mov 0x3000, %bl
  0xeb, 0xe0,                   // 0x1023: jmp 1b
  0xf4,                         // 0x1025: 3: hlt
  ...ascii('tick 1\n'),         // 0x1026: msg: .ascii "tick 1\n"
];

/** Prints "chat!\n" to port 0xe9 for ever (rep outsb in a loop). */
export const chatty = [
  0xba, 0xe9, 0x00,     // 0x1000: mov $0xe9, %dx
  0xbe, 0x0e, 0x10,     // 0x1003: 1: mov $msg, %si
  0xb9, 0x06, 0x00,     // 0x1006: mov $6, %cx
  0xfc,                 // 0x1009: cld
  0xf3, 0x6e,           // 0x100a: rep outsb
  0xeb, 0xf5,           // 0x100c: jmp 1b
  ...ascii('chat!\n'),  // 0x100e: msg: .ascii "chat!\n"
];

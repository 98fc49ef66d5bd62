// Sizes on the command line: 64M, 4G, 1048576.
const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(text: string): number {
  const match = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!match) throw new Error(`bad size "${text}" (examples: 1048576, 512M, 4G)`);
  return Number(match[1]) * UNITS[match[2]!.toUpperCase()]!;
}

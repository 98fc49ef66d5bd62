// This process's mount table (/proc/self/mountinfo), read without touching
// the mounts themselves (a stat of a FUSE mount would ask its daemon).
import { readFileSync } from 'node:fs';

/** The fields of the topmost mount at `mountPoint` (an absolute path), if there is one. */
export function mountInfo(mountPoint: string): { device: string; fsType: string } | undefined {
  const escaped = mountPoint.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((each) => each.split(' ')[4] === escaped).pop();
  if (line === undefined) return undefined;
  return { device: line.split(' ')[2] ?? '', fsType: line.split(' - ')[1]?.split(' ')[0] ?? '' };
}

// A VM's console: console_ports and console.
import type { FileEntries, VmContext } from '../node.js';

export function consoleFiles(_context: VmContext): FileEntries {
  return [];
}

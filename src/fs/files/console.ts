// A VM's console: console_ports, the io ports whose `io out` exits the
// vcpu's run loop consumes (src/backend/console.ts), and console, what the
// guest wrote to them: a file that grows, read at any offset, so that
// `tail -f` follows it.
import { parsePorts, renderPorts } from '../format/ports.js';
import { modes, type Attributes, type BlockFile, type FileEntries, type SnapshotFile, type VmContext } from '../node.js';
import type { Console } from '../../backend/console.js';

export function consoleFiles({ vm, file }: VmContext): FileEntries {
  return [
    ['console_ports', consolePortsFile(vm.console, file(modes.ownerReadWrite))],
    ['console', consoleFile(vm.console, file(modes.ownerRead))],
  ];
}

/** A write replaces the whole set at once (`none`: no ports); running vcpus see the new set from their next exit. */
function consolePortsFile(console: Console, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    read: () => renderPorts(console.ports),
    write(text) {
      const ports = parsePorts(text);
      if (ports) console.setPorts(ports);
    },
  };
}

/**
 * Offsets count bytes since the VM was created, and the size is that
 * count; only the last CONSOLE_CAPACITY bytes are kept, and bytes before
 * them read as zeros.
 */
function consoleFile(console: Console, attr: Attributes): BlockFile {
  return {
    kind: 'block',
    attr,
    size: () => console.size,
    readAt: (offset, target) => console.readAt(offset, target),
  };
}

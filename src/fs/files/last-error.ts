// last_error: the most recent error on a VM (or on the mount's top level),
// one line for people.
import type { Attributes, SnapshotFile } from '../node.js';

export class ErrorLog {
  private last = '';

  record(line: string): void {
    this.last = line.replace(/\n/g, ' ');
  }

  file(attr: Attributes): SnapshotFile {
    return { kind: 'snapshot', attr, read: () => (this.last ? `${this.last}\n` : '') };
  }
}

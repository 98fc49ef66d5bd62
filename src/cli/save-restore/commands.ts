// The save and restore commands as main.ts runs them: a one-line summary on
// stdout, warnings and errors on stderr, exit status 1 on failure.
import { PAGE_SIZE } from './manifest.js';
import { ToolError } from './mount-files.js';
import { restore } from './restore.js';
import { save } from './save.js';

function failed(command: string, error: unknown): void {
  // A ToolError is a message for the user; anything else is a bug, shown whole.
  process.stderr.write(`kvmfs ${command}: ${error instanceof ToolError ? error.message : (error as Error).stack}\n`);
  process.exitCode = 1;
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

export function saveCommand(options: { vmDir: string; saveDir: string; since: string | undefined; partial: boolean }): void {
  try {
    const { manifest, pagesWritten } = save(options);
    if (manifest.missing.length > 0) process.stderr.write(`kvmfs save: not saved (the mount does not serve them): ${manifest.missing.join(', ')}\n`);
    const pages = manifest.memoryPages;
    process.stdout.write(`saved ${manifest.vm} to ${options.saveDir}: ${plural(manifest.vcpus.length, 'vcpu')}, ${plural(manifest.saved.length, 'state file')}, `
      + `memory ${manifest.memorySize} bytes, ${plural(pages, 'page')} (${pages * PAGE_SIZE} bytes) saved, ${pagesWritten} written and ${pages - pagesWritten} all zero`
      + `${manifest.since ? `, since ${options.since}` : ''}\n`);
  } catch (error) {
    failed('save', error);
  }
}

export function restoreCommand(options: { saveDir: string; vmDir: string }): void {
  try {
    const { chain, missing } = restore(options);
    if (missing.length > 0) process.stderr.write(`kvmfs restore: the save lacks ${missing.join(', ')}: the new VM has KVM's defaults there\n`);
    process.stdout.write(`restored ${options.vmDir} from ${chain.map((s) => s.dir).join(' + ')}\n`);
  } catch (error) {
    failed('restore', error);
  }
}

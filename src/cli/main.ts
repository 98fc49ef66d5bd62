#!/usr/bin/env node
// kvmfs: KVM virtual machines as a filesystem.
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { mount } from './mount.js';
import { unmount } from './platform.js';
import { doctor } from './doctor.js';
import { parseSize } from './size.js';
import { restoreCommand, saveCommand } from './save-restore/commands.js';

const defaultMaxMemory = Math.floor(totalmem() / 2);

await yargs(hideBin(process.argv))
  .scriptName('kvmfs')
  .usage('$0 <command>\n\nKVM virtual machines as a filesystem: mkdir a VM, dd code into its memory, cat its vcpus\' regs and run files.')
  .command(
    'mount <dir>',
    'mount kvmfs at <dir> and serve it in the foreground (Ctrl-C or SIGTERM unmounts and destroys the VMs)',
    (y) => y
      .positional('dir', { type: 'string', demandOption: true, describe: 'an existing empty directory' })
      .option('run-timeout', { type: 'number', default: 1000, describe: 'ms a read of run may take before it returns "intr" (0 = no limit)' })
      .option('max-memory', { type: 'string', default: `${Math.floor(defaultMaxMemory / 1024 ** 2)}M`, describe: 'guest RAM of all VMs together (e.g. 512M, 8G); default half the host RAM' })
      .option('max-vms', { type: 'number', default: 1024, describe: 'how many VMs may exist at once' })
      .option('max-vcpus', { type: 'number', default: 256, describe: 'how many vcpus all VMs together may have (each running one holds a host thread)' })
      .option('allow-other', { type: 'boolean', default: false, describe: 'let other users in; mode bits and ownership (chmod/chown on a VM) decide what they may do' })
      .option('busy-poll', { type: 'number', default: 2, describe: 'ms the daemon keeps polling for the next operation after one (0 = sleep at once; saves a thread wake-up per operation while busy)' })
      .option('io-uring', { type: 'boolean', default: true, describe: 'serve through FUSE over io_uring (Linux 6.14+), one queue per CPU, where the kernel allows it; as root kvmfs turns on the fuse module\'s enable_uring (--no-io-uring: read /dev/fuse only)' })
      .option('debug', { type: 'boolean', default: false, describe: 'print every FUSE operation the main thread serves (reads of run, regs and memory I/O are served by reader threads and not printed)' })
      .check((argv) => {
        if (!Number.isInteger(argv['run-timeout']) || argv['run-timeout'] < 0) throw new Error('--run-timeout must be a whole number of ms >= 0');
        if (!Number.isInteger(argv['max-vms']) || argv['max-vms'] < 1) throw new Error('--max-vms must be a whole number >= 1');
        if (!Number.isInteger(argv['max-vcpus']) || argv['max-vcpus'] < 1) throw new Error('--max-vcpus must be a whole number >= 1');
        parseSize(argv['max-memory']);
        return true;
      }),
    (argv) => mount({
      mountPoint: resolve(argv.dir),
      runTimeoutMs: argv['run-timeout'],
      maxMemory: parseSize(argv['max-memory']),
      maxVms: argv['max-vms'],
      maxVcpus: argv['max-vcpus'],
      allowOther: argv['allow-other'],
      debug: argv.debug,
      busyPollMs: argv['busy-poll'],
      ioUring: argv['io-uring'],
    }),
  )
  .command(
    'umount <dir>',
    'unmount kvmfs, also a stale mount left by a killed daemon ("Transport endpoint is not connected")',
    (y) => y.positional('dir', { type: 'string', demandOption: true }),
    (argv) => {
      try {
        unmount(resolve(argv.dir));
      } catch (error) {
        process.stderr.write(`kvmfs: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    },
  )
  .command(
    'doctor',
    'check that this machine can run kvmfs, and say how to fix what is missing',
    (y) => y,
    () => {
      if (!doctor()) process.exitCode = 1;
    },
  )
  .command(
    'save <vm-dir> <dir>',
    'copy a VM\'s state files and memory (sparse) out of the mount into a new directory <dir> (docs/save-restore.md)',
    (y) => y
      .positional('vm-dir', { type: 'string', demandOption: true, describe: 'the VM, e.g. /tmp/m/vm0 (its vcpus not running)' })
      .positional('dir', { type: 'string', demandOption: true, describe: 'a new (or empty) directory' })
      .option('since', { type: 'string', describe: 'the VM\'s previous save: keep only the pages the guest wrote since it' })
      .option('partial', { type: 'boolean', default: false, describe: 'save what the mount serves and list the state files it lacks, instead of failing' }),
    (argv) => saveCommand({ vmDir: argv['vm-dir'], saveDir: argv.dir, since: argv.since, partial: argv.partial }),
  )
  .command(
    'restore <dir> <vm-dir>',
    'make the new VM <vm-dir> from a save (and the saves it was taken --since)',
    (y) => y
      .positional('dir', { type: 'string', demandOption: true, describe: 'a directory kvmfs save wrote' })
      .positional('vm-dir', { type: 'string', demandOption: true, describe: 'the VM to make, e.g. /tmp/m/clone (must not exist)' }),
    (argv) => restoreCommand({ saveDir: argv.dir, vmDir: argv['vm-dir'] }),
  )
  .demandCommand(1, 'name a command: mount, umount, doctor, save or restore')
  .strict()
  .help()
  .alias('help', 'h')
  .version()
  .epilog(`Host: ${cpus().length} CPUs. Docs: README.md`)
  .fail((message, error, y) => {
    if (error) {
      process.stderr.write(`kvmfs: ${error.message}\n`);
    } else {
      process.stderr.write(`${y.help()}\n\nkvmfs: ${message}\n`);
    }
    process.exit(2);
  })
  .parseAsync();

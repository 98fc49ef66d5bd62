#!/usr/bin/env -S node --max-semi-space-size=1
// kvmfs: KVM virtual machines as a filesystem.
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { mount } from './mount.js';
import { unmount } from './platform.js';
import { doctor } from './doctor.js';
import { parseSize } from './size.js';
import { gdb } from './gdb/server.js';
import { top } from './top.js';
import { boot } from './boot/boot.js';

/** An io port as a user writes it: 0x hex or decimal, 0..0xffff. */
function parsePort(text: string, option: string): number {
  const port = /^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port > 0xffff) throw new Error(`--${option} must be an io port, 0..0xffff (hex with 0x, or decimal)`);
  return port;
}
import { restoreCommand, saveCommand } from './save-restore/commands.js';

const defaultMaxMemory = Math.floor(totalmem() / 2);

await yargs(hideBin(process.argv))
  .scriptName('kvmfs')
  .usage('$0 <command>\n\nKVM virtual machines as a filesystem: mkdir a VM, dd code into its memory, cat its vcpus\' regs and run files.')
  .command(
    'mount <dir>',
    'mount kvmfs at <dir> and serve it in the foreground (Ctrl-C or SIGTERM unmounts and destroys the VMs)',
    (y) => y
      .positional('dir', { type: 'string', demandOption: true, describe: 'an empty directory, created if missing (with its parents)' })
      .option('run-timeout', { type: 'number', default: 1000, describe: 'ms a read of run may take before it returns "intr" (0 = no limit)' })
      .option('max-memory', { type: 'string', default: `${Math.floor(defaultMaxMemory / 1024 ** 2)}M`, describe: 'guest RAM of all VMs together (e.g. 512M, 8G); default half the host RAM' })
      .option('max-vms', { type: 'number', default: 1024, describe: 'how many VMs may exist at once' })
      .option('max-vcpus', { type: 'number', default: 256, describe: 'how many vcpus all VMs together may have (each running one holds a host thread)' })
      .option('allow-other', { type: 'boolean', default: false, describe: 'let other users in; mode bits and ownership (chmod/chown on a VM) decide what they may do' })
      .option('busy-poll', { type: 'number', default: 2, describe: 'ms the daemon keeps polling for the next operation after one (0 = sleep at once; saves a thread wake-up per operation while busy)' })
      .option('io-uring', { type: 'boolean', default: true, describe: 'serve through FUSE over io_uring (Linux 6.14+), one queue per CPU, where the kernel allows it; as root kvmfs turns on the fuse module\'s enable_uring (--no-io-uring: read /dev/fuse only)' })
      .option('debug', { type: 'boolean', default: false, describe: 'print every FUSE operation, and the thread that served it (the main thread, or which reader thread)' })
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
    'boot <elf> <vm>',
    'make the VM <vm> (a path in a kvmfs mount), load the freestanding 64-bit ELF <elf> into it, and run it in long mode with the in-kernel irqchip and PIT until it writes its exit status to the shutdown port, printing its console (docs/vmm.md)',
    (y) => y
      .positional('elf', { type: 'string', demandOption: true, describe: 'a static x86-64 ELF executable, linked at or above 32 KiB' })
      .positional('vm', { type: 'string', demandOption: true, describe: 'the VM directory to create, e.g. /tmp/kvmfs/guest' })
      .option('memory', { type: 'string', default: '16M', describe: 'guest RAM (e.g. 16M, 1G)' })
      .option('console-port', { type: 'string', default: '0xe9', describe: 'the io port the guest writes its console to' })
      .option('shutdown-port', { type: 'string', default: '0xf4', describe: 'the io port the guest writes its exit status (one byte) to, to stop' })
      .check((argv) => {
        parseSize(argv.memory);
        parsePort(argv['console-port'], 'console-port');
        parsePort(argv['shutdown-port'], 'shutdown-port');
        return true;
      }),
    async (argv) => {
      process.exitCode = await boot({
        elf: argv.elf,
        vm: resolve(argv.vm),
        memoryBytes: parseSize(argv.memory),
        consolePort: parsePort(argv['console-port'], 'console-port'),
        shutdownPort: parsePort(argv['shutdown-port'], 'shutdown-port'),
      });
    },
  )
  .command(
    'doctor',
    'check that this machine can run kvmfs, and say how to fix what is missing',
    (y) => y,
    async () => {
      if (!(await doctor())) process.exitCode = 1;
    },
  )
  .command(
    'gdb <vm-dir>',
    'serve one vcpu of a VM in the mount to gdb (GDB remote protocol; in gdb: target remote :1234), using only its files',
    (y) => y
      .positional('vm-dir', { type: 'string', demandOption: true, describe: 'the VM\'s directory in a kvmfs mount' })
      .option('port', { type: 'number', default: 1234, describe: 'TCP port to listen on' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (anyone who can connect controls the guest)' })
      .option('vcpu', { type: 'number', default: 0, describe: 'which vcpu<N> to debug' })
      .check((argv) => {
        if (!Number.isInteger(argv.port) || argv.port < 0 || argv.port > 65535) throw new Error('--port must be 0..65535');
        if (!Number.isInteger(argv.vcpu) || argv.vcpu < 0) throw new Error('--vcpu must be a whole number >= 0');
        return true;
      }),
    (argv) => gdb({ vmDir: resolve(argv['vm-dir']), port: argv.port, vcpu: argv.vcpu, host: argv.host }),
  )
  .command(
    'top [mount]',
    'like kvm_stat: a live table of the VMs and vcpus of a mount (state, rip, exits per second by reason from the stats files)',
    (y) => y
      .positional('mount', { type: 'string', describe: 'a kvmfs mount point (default: the first in /proc/mounts)' })
      .option('once', { type: 'boolean', default: false, describe: 'print one table (over one interval) and exit, for scripts' })
      .option('interval', { type: 'number', default: 1, describe: 'seconds between samples' })
      .check((argv) => {
        if (!(argv.interval > 0)) throw new Error('--interval must be > 0');
        return true;
      }),
    (argv) => top({ mount: argv.mount === undefined ? undefined : resolve(argv.mount), once: argv.once, intervalMs: argv.interval * 1000 }),
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
  .demandCommand(1, 'name a command: mount, umount, doctor, gdb, top, boot, save or restore')
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

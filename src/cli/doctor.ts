// `kvmfs doctor`: can kvmfs run here? One line per check, with the fix.
import { accessSync, constants, existsSync } from 'node:fs';
import { bundledLibfusePath, fuseUringSwitch, loadBundledLibfuse } from './platform.js';
import { whyNoRings } from '../fs/fuse/rings-available.js';
import { Kvm } from '../backend/kvm/system.js';
import { KVM_API_VERSION } from '../backend/kvm/abi.js';
import { hardwareWatchpoints, softwareBreakpoints } from './doctor-debug.js';

interface Check {
  name: string;
  run(): string | Promise<string>; // what was found; throws with the fix when it fails
}

const checks: Check[] = [
  {
    name: '/dev/kvm',
    run() {
      if (!existsSync('/dev/kvm')) throw new Error('missing: load the kvm module (modprobe kvm_intel or kvm_amd); in a VM, its host must offer nested virtualization (test/vm/vm-test runs the end-to-end suites in an emulated VM that has KVM)');
      let kvm: Kvm;
      try {
        kvm = Kvm.open();
      } catch (error) {
        throw new Error(`cannot open it (${(error as Error).message}): run as root or add yourself to the kvm group`);
      }
      const version = kvm.getApiVersion();
      kvm.close();
      if (version !== KVM_API_VERSION) throw new Error(`API version ${version}, kvmfs needs ${KVM_API_VERSION}`);
      return `opened, API version ${version}`;
    },
  },
  {
    name: '/dev/fuse',
    run() {
      if (!existsSync('/dev/fuse')) throw new Error('missing: modprobe fuse (in a container: pass --device /dev/fuse)');
      accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
      return 'present and accessible';
    },
  },
  {
    name: 'libfuse',
    run() {
      const path = bundledLibfusePath();
      try {
        loadBundledLibfuse();
      } catch (error) {
        throw new Error(`cannot load ${path} (${(error as Error).message}): reinstall with npm ci`);
      }
      return `bundled ${path}`;
    },
  },
  {
    // Not needed to run: without it /dev/fuse serves alone, about 1.5x slower per exit.
    name: 'FUSE over io_uring',
    run() {
      const without = 'requests will go through /dev/fuse alone (slower per exit: docs/performance.md)';
      const state = fuseUringSwitch();
      if (state === 'missing') return `not in this kernel (Linux 6.14+ built with CONFIG_FUSE_IO_URING): ${without}`;
      if (state === 'off') return `fuse's enable_uring is off and only root may turn it on: ${without}`;
      const why = whyNoRings();
      if (why) return `${why}: ${without}`;
      return state === 'on' ? 'enabled: a ring queue per CPU' : "available: kvmfs mount turns on fuse's enable_uring";
    },
  },
  {
    // Not needed to run: says whether `sw_breakpoints 1` does anything here.
    name: 'software breakpoints',
    run: softwareBreakpoints,
  },
  {
    // Not needed to run: says whether `hwN type=write/rw` (gdb's watch) stops the guest here.
    name: 'hardware watchpoints',
    run: hardwareWatchpoints,
  },
  {
    name: 'mount rights',
    run() {
      if (process.getuid?.() === 0) return 'root: mounts with mount(2) directly';
      throw new Error('not root: run kvmfs as root (it needs /dev/kvm and mount(2); fuse-native bundles no setuid fusermount)');
    },
  },
];

/** Prints every check; returns whether all passed. */
export async function doctor(): Promise<boolean> {
  let healthy = true;
  for (const check of checks) {
    try {
      process.stdout.write(`ok    ${check.name}: ${await check.run()}\n`);
    } catch (error) {
      healthy = false;
      process.stdout.write(`FAIL  ${check.name}: ${(error as Error).message}\n`);
    }
  }
  return healthy;
}

// End-to-end harness: a real kvmfs daemon on a temporary mount point, used
// only through child processes running real shell tools (the test process
// never touches the mount itself, like a user at a shell).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { daemonUsage as usageOf } from './clients/daemon-usage.mjs';

const execFileAsync = promisify(execFile);
export const projectRoot = resolve(import.meta.dirname, '..', '..');
export const cli = join(projectRoot, 'dist', 'cli', 'main.js');
/**
 * How many times slower than a plain machine this one is (KVMFS_E2E_SLOW,
 * default 1): the harness's waits for the daemon and its shell commands are
 * scaled by it, e.g. inside an emulated VM that provides nested KVM.
 */
export const slowdown = Math.max(1, Number(process.env.KVMFS_E2E_SLOW ?? 1) || 1);

export interface ShellResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a bash script (in a child process) with $M set to the mount point. */
export async function sh(mountPoint: string, script: string, options: { timeoutMs?: number; encoding?: 'utf8' | 'latin1' } = {}): Promise<ShellResult> {
  try {
    const { stdout, stderr } = await execFileAsync('bash', ['-euo', 'pipefail', '-c', script], {
      env: { ...process.env, M: mountPoint },
      timeout: (options.timeoutMs ?? 20_000) * slowdown,
      encoding: options.encoding ?? 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number | string; killed?: boolean };
    if (failed.killed) throw new Error(`timed out: ${script}`);
    return { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: typeof failed.code === 'number' ? failed.code : 1 };
  }
}

/** Like sh, but fails the test on a non-zero exit. */
export async function ok(mountPoint: string, script: string, options?: { timeoutMs?: number }): Promise<string> {
  const result = await sh(mountPoint, script, options);
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${script}\n${result.stderr}`);
  return result.stdout;
}

export class Mount {
  private log = '';

  private constructor(readonly dir: string, readonly daemon: ChildProcess) {
    daemon.stderr?.on('data', (chunk: Buffer) => { this.log += chunk.toString(); });
    daemon.stdout?.on('data', (chunk: Buffer) => { this.log += chunk.toString(); });
  }

  /** Mounts kvmfs on a fresh temporary directory and waits until it answers. */
  static async start(args: string[] = [], dir = mkdtempSync(join(tmpdir(), 'kvmfs-e2e-'))): Promise<Mount> {
    // the flag the bin's shebang gives (src/cli/main.ts): a small young generation keeps the daemon's RSS down
    const daemon = spawn(process.execPath, ['--max-semi-space-size=1', cli, 'mount', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const mount = new Mount(dir, daemon);
    const deadline = Date.now() + 10_000 * slowdown;
    while (Date.now() < deadline) {
      if (daemon.exitCode !== null) throw new Error(`kvmfs exited ${daemon.exitCode}: ${mount.log}`);
      const probe = await sh(dir, 'cat "$M/api_version"', { timeoutMs: 2000 }).catch(() => undefined);
      if (probe?.stdout === '12\n') {
        await mount.settled();
        return mount;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    daemon.kill('SIGKILL');
    throw new Error(`kvmfs did not come up: ${mount.log}`);
  }

  /**
   * Waits (up to 2 s) until the daemon's threads and fds stop changing: it
   * answers before all its reader threads are up (the ring readers open
   * their entries only after INIT), and tests that count threads or fds
   * need it whole.
   */
  async settled(): Promise<void> {
    const pid = this.daemon.pid!;
    const shape = () => {
      try {
        return `${readdirSync(`/proc/${pid}/task`).length}/${readdirSync(`/proc/${pid}/fd`).length}`;
      } catch {
        return 'gone';
      }
    };
    let last = shape();
    let steady = 0;
    for (let i = 0; i < 40 && steady < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = shape();
      steady = now === last ? steady + 1 : 0;
      last = now;
    }
  }

  sh(script: string, options?: { timeoutMs?: number; encoding?: 'utf8' | 'latin1' }): Promise<ShellResult> {
    return sh(this.dir, script, options);
  }

  ok(script: string, options?: { timeoutMs?: number }): Promise<string> {
    return ok(this.dir, script, options);
  }

  get output(): string {
    return this.log;
  }

  /** SIGTERM, and waits for the daemon to exit; returns its exit code. */
  async stop(): Promise<number | null> {
    if (this.daemon.exitCode === null) {
      const exited = new Promise<void>((r) => this.daemon.once('exit', () => r()));
      this.daemon.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000 * slowdown))]);
      if (this.daemon.exitCode === null) {
        this.daemon.kill('SIGKILL');
        await execFileAsync(process.execPath, [cli, 'umount', this.dir]).catch(() => undefined);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    return this.daemon.exitCode;
  }
}

/** `vmName` with a vcpu0, `memory` bytes of RAM, and `code` loaded at 0x1000 in real mode, ready to run. */
export async function realModeVm(mount: Mount, vmName: string, code: number[], memory = '1M'): Promise<void> {
  const bytes = code.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  await mount.ok(`
    mkdir "$M/${vmName}" && truncate -s ${memory} "$M/${vmName}/memory" && mkdir "$M/${vmName}/vcpu0"
    printf '${bytes}' | dd of="$M/${vmName}/memory" bs=4096 seek=1 conv=notrunc status=none
    echo 'cs base=0 selector=0' > "$M/${vmName}/vcpu0/sregs"
    echo 'rip 0x1000' > "$M/${vmName}/vcpu0/regs"
  `);
}

export type Usage = ReturnType<typeof usageOf>;

/** The daemon's resident set, threads and open fds (the daemon process, not the mount). */
export function daemonUsage(mount: Mount): Usage {
  return usageOf(mount.daemon.pid!);
}

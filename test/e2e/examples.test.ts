// The examples a newcomer reads (mountpoint-example/) keep working: each
// script runs against a real mount and checks its own guest's results.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, projectRoot } from './harness.js';

const examples = join(projectRoot, 'mountpoint-example');
const names = readdirSync(examples).filter((name) => statSync(join(examples, name)).isDirectory()).sort();

describe('mountpoint-example', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('has the examples the README promises', () => {
    expect(names).toEqual(['dirty-log', 'hello-long', 'hello-protected', 'hello-real', 'input', 'interrupt', 'mmio', 'two-vcpus']);
  });

  it.each(names)('%s/run.sh passes and cleans up after itself', async (name) => {
    const result = await mount.sh(`"${examples}/${name}/run.sh" "$M"`, { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${name}: ok`);
    expect(await mount.ok('ls -A "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\n');
  });

  it('the hello examples print their greetings', async () => {
    for (const [name, mode] of [['hello-real', 'real'], ['hello-protected', 'protected'], ['hello-long', 'long']]) {
      expect(await mount.ok(`"${examples}/${name}/run.sh" "$M"`)).toContain(`Hello from ${mode} mode!`);
    }
  });
});

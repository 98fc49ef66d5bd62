import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';

describe('the top of the mount', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('api_version is 12', async () => {
    expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
  });

  it('capabilities lists irqchip as a name value line', async () => {
    const text = await mount.ok('cat "$M/capabilities"');
    expect(text).toMatch(/^irqchip \d+$/m);
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^[a-z0-9_]+ -?\d+$/);
  });
});

// Seeded fuzzing of the controller files through a real mount: writes that
// mix valid lines with one bad line must be rejected whole (EINVAL, the file
// unchanged, last_error naming the file and the bad line), and the text a
// file reads must be taken back unchanged. The VM never runs a guest, so
// nothing in it changes by itself.
//
// Replay a run: KVMFS_CONTROLLERS_FUZZ_SEED=<seed printed below> npx vitest run test/e2e/controllers-fuzz.test.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { scratchDir, seededRandom } from './assert-helpers.js';
import { makeCase } from './controllers-fuzz-cases.js';

const SEED = process.env.KVMFS_CONTROLLERS_FUZZ_SEED !== undefined
  ? Number(process.env.KVMFS_CONTROLLERS_FUZZ_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const CASES = 240;

describe(`controller files fuzz (seed ${SEED})`, () => {
  let mount: Mount;
  let scratch: ReturnType<typeof scratchDir>;

  beforeAll(async () => {
    scratch = scratchDir();
    mount = await Mount.start();
    await mount.ok('mkdir "$M/fz" && echo kernel > "$M/fz/irqchip" && echo create > "$M/fz/pit" && mkdir "$M/fz/vcpu0"');
  });
  afterAll(async () => {
    await mount.stop();
    scratch.remove();
  });

  it(`${CASES} writes: bad ones rejected whole with the line named, read text written back unchanged`, async () => {
    const random = seededRandom(SEED);
    const cases = Array.from({ length: CASES }, () => makeCase(random));
    cases.forEach((c, i) => writeFileSync(join(scratch.dir, `case${i}`), c.text));
    // count_load_time is the time KVM last loaded a PIT channel: a write of pit reloads them all, so it is left out
    const out = await mount.ok(`
      files=(${cases.map((c) => c.file).join(' ')})
      show() { cat "$1" | sed 's/ count_load_time=0x[0-9a-f]*//'; }
      for i in $(seq 0 ${CASES - 1}); do
        F="$M/fz/\${files[$i]}"
        before=$(show "$F")
        input="${scratch.dir}/case$i"
        if [ ! -s "$input" ]; then input="${scratch.dir}/back$i"; cat "$F" > "$input"; fi
        if cat "$input" 2>/dev/null > "$F"; then rc=0; else rc=1; fi
        same=changed; [ "$before" = "$(show "$F")" ] && same=same
        echo "$i $rc $same $(head -c 200 "$M/fz/last_error" | tr -d '\\n')"
      done
    `, { timeoutMs: 300_000 });
    const problems: string[] = [];
    out.trimEnd().split('\n').forEach((line) => {
      const [index, rc, same, ...reason] = line.split(' ');
      const c = cases[Number(index)]!;
      const lastError = reason.join(' ');
      const what = `case ${index} (${c.file} <- ${JSON.stringify(c.text)})`;
      if (same !== 'same') problems.push(`${what}: the file changed`);
      if (c.badLine === undefined) {
        if (rc !== '0') problems.push(`${what}: writing back what was read failed: ${lastError}`);
      } else {
        if (rc === '0') problems.push(`${what}: accepted`);
        else if (!lastError.startsWith(`${c.file}: line ${c.badLine}: `)) problems.push(`${what}: last_error ${JSON.stringify(lastError)}`);
      }
    });
    expect(out.trimEnd().split('\n')).toHaveLength(CASES);
    expect(problems, `replay: KVMFS_CONTROLLERS_FUZZ_SEED=${SEED}`).toEqual([]);
  });
});

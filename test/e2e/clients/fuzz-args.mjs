// fuzz-client.mjs's command line: <mount> <vm> <seed> <count> [--client N] [--group G] [--verbose].

const positional = [];
export const flags = { client: 0, group: 32, verbose: false };
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--client') flags.client = Number(process.argv[++i]);
  else if (arg === '--group') flags.group = Math.max(1, Number(process.argv[++i]));
  else if (arg === '--verbose') flags.verbose = true;
  else positional.push(arg);
}
if (positional.length !== 4) {
  process.stderr.write('usage: fuzz-client.mjs <mount> <vm> <seed> <count> [--client N] [--group G] [--verbose]\n');
  process.exit(2);
}
const [mount, vm, seedText, countText] = positional;
export const MOUNT = mount;
export const VM = vm;
export const SEED = Number(seedText) >>> 0;
export const COUNT = Number(countText);
export const CLIENT = flags.client;
export const GROUP = flags.group;
export const V = `${MOUNT}/${VM}`;

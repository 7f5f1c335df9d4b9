/**
 * `npm run bench` — every benchmark, one after another, each in its own process (so one's load
 * does not leak into the next). Other areas' benchmarks (decision nodes, bots) run too when their
 * npm scripts exist. `--quick` passes through (tiny configurations; the bench test uses it).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const quick = process.argv.includes('--quick');
const scripts = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
).scripts;
const ours = ['bench:engine', 'bench:webhooks', 'bench:pickup', 'bench:memory', 'bench:cli'];
// Benchmarks of other areas, run when present (they take no --quick unless they say so).
const theirs = ['bench:decision', 'bench:bot'].filter((name) => scripts[name] && !quick);
let failed = 0;
for (const name of [...ours, ...theirs]) {
  console.log(`\n## ${name}`);
  const args = ['run', '--silent', name, ...(quick ? ['--', '--quick'] : [])];
  const result = spawnSync('npm', args, { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    console.log(`${name} failed (exit ${result.status})`);
  }
}
process.exit(failed > 0 ? 1 : 0);

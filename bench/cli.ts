/**
 * `npm run bench:cli` — how long each `operon` command takes, each run a new process (`node
 * bin/operon.js ...`, what `npx operon` runs after npx has found it), in a fresh working directory
 * whose embedded PostgreSQL (under .operon/) this script starts once and keeps running, as while
 * `operon start` runs in another terminal:
 *
 *   --help, db-url, db-url (server stopped)   exit
 *   deploy processes/loan-approval.bpmn       exit (migrations already applied)
 *   decide loan --vars ... --json             exit (no database)
 *   start / serve                             until the banner is printed (API listening, processes deployed)
 *   worker                                    until it logs 'worker running'
 *
 * Each command runs once untimed (page cache, migrations), then --runs times (default 5; start,
 * serve and worker 3); the median counts. `--quick`: one timed run each, no warm-up, no baseline, no serve. Baseline, in the same command: the same sources run
 * through tsx (OPERON_CLI=tsx, no compiled JavaScript), --baseline-runs times (default 3, 0 skips).
 * dist/ is built first unless it is current. CPU time (user + sys, from /usr/bin/time) is printed
 * too: on a busy machine it is closer than the wall clock to what an idle one shows.
 * `--only start,serve` measures those commands only. Last line: `<command>_ms=<median> ...` for
 * db-url, deploy, decide, start, serve and worker.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../engine/db/embedded.ts';
import { compiledIsCurrent } from '../bin/compiled.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/operon.js');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const VARS = JSON.stringify({
  income: 85000,
  debts: 3000,
  creditScore: 780,
  amount: 12000,
  termMonths: 36,
  employment: 'permanent',
  purpose: 'a new kitchen',
});

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const option = (name: string, fallback: number) => {
  const index = argv.indexOf(`--${name}`);
  return index >= 0 ? Number(argv[index + 1]) : fallback;
};
const runs = option('runs', quick ? 1 : 5);
const serverRuns = option('server-runs', quick ? 1 : 3);
const baselineRuns = option('baseline-runs', quick ? 0 : 3);
const onlyIndex = argv.indexOf('--only');
const only = onlyIndex >= 0 ? new Set(argv[onlyIndex + 1]!.split(',')) : undefined;

interface Sample {
  wallMs: number;
  cpuMs?: number;
}

interface Command {
  name: string;
  args: string[];
  /** A long-running command: ready when a line of its output matches. */
  ready?: RegExp;
  /** Without the embedded server running. */
  stopped?: boolean;
}

const COMMANDS: Command[] = [
  { name: 'help', args: ['--help'] },
  { name: 'db-url', args: ['db-url'] },
  { name: 'db-url-stopped', args: ['db-url'], stopped: true },
  { name: 'deploy', args: ['deploy', join(ROOT, 'processes/loan-approval.bpmn')] },
  { name: 'decide', args: ['decide', 'loan', '--vars', VARS, '--json'] },
  { name: 'start', args: ['start', '--port', '0', '--demo-port', '0'], ready: /^Operon is running\./m },
  { name: 'serve', args: ['serve', '--port', '0', '--demo-port', '0'], ready: /^Operon is running\./m },
  { name: 'worker', args: ['worker'], ready: /worker running/ },
];

/** One run as a new process: wall time to exit (or to `ready`), and CPU time when /usr/bin/time is there. */
function runOnce(command: Command, cwd: string, env: NodeJS.ProcessEnv): Promise<Sample> {
  const args = [process.execPath, BIN, ...command.args];
  // CPU time of commands that exit; a server is stopped by signal, which /usr/bin/time would get.
  const [file, ...rest] = TIME && !command.ready ? [TIME, '-f', 'operon-bench-cpu %U %S', ...args] : args;
  const started = performance.now();
  const child = spawn(file!, rest, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let readyAt: number | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (command.ready && readyAt === undefined && command.ready.test(output)) {
        readyAt = performance.now();
        child.kill('SIGTERM'); // stops as on Ctrl-C
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const end = readyAt ?? performance.now();
      if (command.ready ? readyAt === undefined : code !== 0) {
        reject(new Error(`operon ${command.args.join(' ')} failed (exit ${code}):\n${output.slice(-2000)}`));
        return;
      }
      const cpu = /operon-bench-cpu ([\d.]+) ([\d.]+)/.exec(output);
      resolve({ wallMs: end - started, ...(cpu ? { cpuMs: (Number(cpu[1]) + Number(cpu[2])) * 1000 } : {}) });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function measure(command: Command, cwd: string, env: NodeJS.ProcessEnv, count: number) {
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) samples.push(await runOnce(command, cwd, env));
  const cpu = samples.flatMap((s) => (s.cpuMs === undefined ? [] : [s.cpuMs]));
  return {
    medianMs: median(samples.map((s) => s.wallMs)),
    minMs: Math.min(...samples.map((s) => s.wallMs)),
    maxMs: Math.max(...samples.map((s) => s.wallMs)),
    cpuMs: cpu.length > 0 ? median(cpu) : undefined,
  };
}

if (!compiledIsCurrent()) {
  console.log('building dist/ (npm run build)');
  execFileSync(process.execPath, [join(ROOT, 'bin/build.mjs')], { stdio: 'inherit' });
}
const cwd = await mkdtemp(join(tmpdir(), 'operon-bench-cli-'));
const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', OPERON_API_TOKEN: 'bench-cli-token' };
delete env.DATABASE_URL;
delete env.OPERON_CLI;
const tsxEnv = { ...env, OPERON_CLI: 'tsx' };
let server = await startEmbeddedPostgres({ dir: join(cwd, '.operon') });
const results: Record<string, { medianMs: number }> = {};
try {
  const load = () => {
    const [one, five] = readFileSync('/proc/loadavg', 'utf8').split(' ');
    return `load ${one}/${five}`;
  };
  console.log(
    `node ${process.version}, ${load()}, runs=${runs} server-runs=${serverRuns} baseline-runs=${baselineRuns}`,
  );
  // --quick leaves out serve (start's path without workers), so the bench test stays short.
  const chosen = COMMANDS.filter((c) => (only ? only.has(c.name) : !quick || c.name !== 'serve'));
  for (const command of chosen) {
    if (command.stopped) await server.stop();
    if (!quick) await runOnce(command, cwd, env); // untimed: page cache, migrations, first deployment
    const count = command.ready ? serverRuns : runs;
    const compiled = await measure(command, cwd, env, count);
    const baseline = baselineRuns > 0 ? await measure(command, cwd, tsxEnv, Math.min(baselineRuns, count)) : undefined;
    results[command.name] = compiled;
    const cpu = (ms?: number) => (ms === undefined ? '' : ` cpu=${ms.toFixed(0)}ms`);
    console.log(
      `${command.name.padEnd(15)} median=${compiled.medianMs.toFixed(0)}ms min=${compiled.minMs.toFixed(0)} max=${compiled.maxMs.toFixed(0)}${cpu(compiled.cpuMs)}` +
        (baseline
          ? ` | tsx median=${baseline.medianMs.toFixed(0)}ms${cpu(baseline.cpuMs)} speedup=${(baseline.medianMs / compiled.medianMs).toFixed(1)}x`
          : '') +
        ` (${load()})`,
    );
    if (command.stopped) server = await startEmbeddedPostgres({ dir: join(cwd, '.operon') });
  }
} finally {
  await server.stop();
  await rm(cwd, { recursive: true, force: true });
}
console.log(
  ['db-url', 'deploy', 'decide', 'start', 'serve', 'worker']
    .filter((name) => results[name])
    .map((name) => `${name.replace('-', '_')}_ms=${results[name]!.medianMs.toFixed(0)}`)
    .join(' '),
);

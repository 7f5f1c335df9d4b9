/**
 * Bot runner overhead: per-job wall time of `createBotNode().run()` (validation, fresh context,
 * egress routing, tracing, bot_runs row) against a bare Playwright script doing the same steps
 * (fresh context, sign in, open a page, read a value), each side on its own Chromium. Prints the ratio and
 * appends it to BENCHMARKS.md.
 *
 *   nice npx tsx bench/bot.ts [jobs=20]
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { chromium, type Page } from 'playwright-core';
import { z } from 'zod';
import { createBotNode, createSecretStore, defineBot, discoverChromium, CHROMIUM_ARGS } from '../nodes/bot/index.ts';
import { createTestDatabase } from '../test/support/db.ts';
import type { NodeContext } from '../engine/nodes/types.ts';
import { directRecord, recordsWritten } from '../test/support/node-context.ts';

const jobs = Number(process.argv[2] ?? 20);
const PASSWORD = 'bench-password';

const server = createServer((req, res) => {
  if (req.url === '/login' && req.method === 'POST') {
    req.resume();
    req.on('end', () => {
      res.writeHead(303, { location: '/report', 'set-cookie': 'sid=1; Path=/' });
      res.end();
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html' });
  if (req.url === '/login')
    res.end(
      '<form method="post" action="/login"><input id="user" name="user"><input id="password" name="password" type="password"><button>Sign in</button></form>',
    );
  else res.end('<h1>Report</h1><p>Score: <strong id="score">712</strong></p>');
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** The steps, shared by both sides so they do exactly the same page work. */
async function steps(page: Page, fill: (field: string, value: string) => Promise<void>): Promise<number> {
  await page.goto(`${origin}/login`);
  await fill('#user', 'bench');
  await fill('#password', PASSWORD);
  await Promise.all([page.waitForURL('**/report'), page.getByRole('button', { name: 'Sign in' }).click()]);
  return Number(await page.locator('#score').textContent());
}

const bot = defineBot({
  name: 'bench',
  input: z.object({ applicant: z.string() }),
  output: z.object({ score: z.number() }),
  secrets: ['BENCH_PASSWORD'],
  async run({ page, secrets }) {
    let score = 0;
    await secrets.use(async ({ fill }) => {
      score = await steps(page, (field, value) =>
        value === PASSWORD ? fill(page.locator(field), 'BENCH_PASSWORD') : page.fill(field, value),
      );
    });
    return { score };
  },
});

const db = await createTestDatabase();
const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};
const ctx = (): NodeContext => ({
  signal: new AbortController().signal,
  logger: silent,
  instanceId: randomUUID(),
  elementId: 'Bench',
  elementInstanceId: randomUUID(),
  jobId: randomUUID(),
  attempt: 1,
  taskType: 'bot:bench',
  headers: {},
  secrets: { get: () => undefined, values: () => [] },
  record: directRecord(
    () => db.knex,
    () => traced,
  ),
});

const browser = await chromium.launch({ executablePath: discoverChromium(), headless: true, args: CHROMIUM_ARGS });
async function bare(): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await steps(page, (field, value) => page.fill(field, value));
  await context.close();
}

const artifactsDir = mkdtempSync(join(tmpdir(), 'operon-bench-'));
const secrets = createSecretStore({ env: {}, defaults: { BENCH_PASSWORD: PASSWORD } });
const traced = createBotNode({
  bots: [bot],
  baseUrl: origin,
  artifactsDir,
  secrets,
  executablePath: discoverChromium(),
});
const untraced = createBotNode({ bots: [bot], baseUrl: origin, artifactsDir, secrets, trace: false });

// The sides take turns job by job, so load from other processes on the machine hits them alike.
const samples: Record<'bare' | 'traced' | 'untraced', number[]> = { bare: [], traced: [], untraced: [] };
const sides = {
  bare,
  // The bot_runs row is part of a run, as it is under a worker.
  traced: () => traced.run({ applicant: 'x' }, ctx()).then(recordsWritten),
  untraced: () => untraced.run({ applicant: 'x' }, ctx()).then(recordsWritten),
};
for (let i = 0; i < jobs + 3; i++) {
  for (const [side, job] of Object.entries(sides) as [keyof typeof sides, () => Promise<unknown>][]) {
    const t = performance.now();
    await job();
    if (i >= 3) samples[side].push(performance.now() - t); // 3 warm-up rounds
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [side, xs] of Object.entries(samples))
  console.log(
    `${side.padEnd(9)} median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`,
  );
const baseline = median(samples.bare);
const tracedMs = median(samples.traced);
const untracedMs = median(samples.untraced);

const line = `| ${new Date().toISOString().slice(0, 16)}Z | ${jobs} | ${baseline.toFixed(0)} | ${tracedMs.toFixed(0)} | ${(tracedMs / baseline).toFixed(2)}x | ${untracedMs.toFixed(0)} | ${(untracedMs / baseline).toFixed(2)}x |`;
console.log(
  `ratio runner/bare: trace on ${(tracedMs / baseline).toFixed(2)}x, trace off ${(untracedMs / baseline).toFixed(2)}x`,
);
const file = new URL('../BENCHMARKS.md', import.meta.url);
if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n');
const heading = '## Bot runner per-job cost (bench/bot.ts)';
if (!readFileSync(file, 'utf8').includes(heading)) {
  appendFileSync(
    file,
    `\n${heading}\n\nMedian wall time per job (fresh context, sign in, open a page, read a value); bare = the same steps as a plain Playwright script. Goal <= 1.2x.\n\n| when | jobs | bare ms | runner ms (trace on) | ratio | runner ms (trace off) | ratio |\n|---|---|---|---|---|---|---|\n`,
  );
}
// Rows go at the end of the file, which is this section's table while bots append last.
appendFileSync(file, `${line}\n`);

await traced.close?.();
await untraced.close?.();
await browser.close();
await db.drop();
server.close();

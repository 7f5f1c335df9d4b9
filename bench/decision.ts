/**
 * `npm run bench:decision` — decision node speed on this machine, for both shipped models:
 * - cold load: a fresh process loading model.onnx + tokenizer.json and making its first decision;
 * - single decision latency (one at a time): p50 / p95;
 * - throughput with N concurrent decisions (the runtime batches them into one inference call);
 * - event-loop delay while 2000 decisions run (the loop must stay responsive).
 *
 * Usage: tsx bench/decision.ts [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DecisionAgent } from '../nodes/decision/agent.ts';
import { makeCase, rng } from '../models/data/generate.ts';

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

if (process.argv[2] === '--cold') {
  const started = performance.now();
  const agent = await DecisionAgent.load(process.argv[3]!);
  const loaded = performance.now();
  await agent.infer(makeCase(process.argv[3] as 'loan', rng(1), 'train', 0, 'x').vars);
  console.log(JSON.stringify({ loadMs: loaded - started, firstDecisionMs: performance.now() - loaded }));
  process.exit(0);
}

const { values } = parseArgs({ options: { json: { type: 'string' } } });
const report: Record<string, unknown> = {};
for (const model of ['loan', 'order'] as const) {
  const cold = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'bench/decision.ts', '--cold', model], { encoding: 'utf8' }).trim().split('\n').pop()!);
  const agent = await DecisionAgent.load(model);
  const random = rng(99);
  const cases = Array.from({ length: 2000 }, (_, i) => makeCase(model, random, 'train', 0, String(i)).vars);
  for (const c of cases.slice(0, 50)) await agent.infer(c);
  const single: number[] = [];
  for (const c of cases.slice(0, 500)) {
    const t = performance.now();
    await agent.infer(c);
    single.push(performance.now() - t);
  }
  const throughput: Record<string, number> = {};
  for (const concurrency of [1, 8, 32, 64, 256]) {
    const t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < cases.length) await agent.infer(cases[next++]!);
    }));
    throughput[`concurrency_${concurrency}`] = Math.round(cases.length / ((performance.now() - t) / 1000));
  }
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  await agent.inferBatch(cases);
  loop.disable();
  report[model] = {
    coldLoadMs: Math.round(cold.loadMs),
    firstDecisionMs: Math.round(cold.firstDecisionMs * 10) / 10,
    p50Ms: Math.round(percentile(single, 0.5) * 100) / 100,
    p95Ms: Math.round(percentile(single, 0.95) * 100) / 100,
    decisionsPerSecond: throughput,
    eventLoopDelayMaxMs: Math.round(loop.max / 1e5) / 10,
  };
  console.log(model, JSON.stringify(report[model]));
}
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));

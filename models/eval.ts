/**
 * `npm run eval:model` — evaluates the shipped models (models/loan, models/order) with the Node
 * runtime on the test and shifted (rephrased) splits, against the policy labels:
 * accuracy, expected calibration error, automation rate and precision at the default threshold,
 * the rules-only baseline on text-dependent cases, single-decision latency, batched throughput and
 * cold load time. The splits are regenerated from the seed when models/.work is absent.
 *
 * The last line is pooled over both models (latency: the slower model):
 * `accuracy=<x> shifted_accuracy=<x> ece=<x> auto_rate=<x> auto_precision=<x> p50_ms=<x> batch_per_s=<x>`
 *
 * Usage: tsx models/eval.ts [--model loan|order] [--json FILE] [--write-cards] [--models-dir DIR]
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DecisionAgent, DEFAULT_MODELS_DIR, readLabelledCases, type LabelledCase } from '../nodes/decision/agent.ts';
import { fileURLToPath } from 'node:url';
import { loadDecisionModel } from '../nodes/decision/model.ts';
import { DEFAULT_GENERATE, generate } from './data/generate.ts';
import type { DomainName } from './data/domains.ts';
import { writeModelCard } from './card.ts';

interface Row extends LabelledCase { textDependent: boolean; rulesLabel: string }

export function splits(domain: DomainName): { test: Row[]; shifted: Row[] } {
  let dir = join(DEFAULT_GENERATE.out, domain);
  if (!existsSync(join(dir, 'test.jsonl'))) {
    const out = mkdtempSync(join(tmpdir(), 'operon-eval-'));
    generate({ ...DEFAULT_GENERATE, out, domains: [domain] });
    dir = join(out, domain);
  }
  const read = (split: string): Row[] =>
    readFileSync(join(dir, `${split}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const row = JSON.parse(line) as { id: string; vars: Record<string, unknown>; policyLabel: string; rulesLabel: string; textDependent: boolean };
        return { id: row.id, variables: row.vars, label: row.policyLabel, rulesLabel: row.rulesLabel, textDependent: row.textDependent };
      });
  return { test: read('test'), shifted: read('shifted') };
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const r4 = (x: number) => Math.round(x * 10000) / 10000;

export async function evaluateModel(domain: DomainName, modelsDir: string) {
  const coldStart = performance.now();
  await loadDecisionModel(resolve(modelsDir, domain), domain);
  const coldLoadMs = performance.now() - coldStart;
  const agent = await DecisionAgent.load(domain, { modelsDir });
  const { test, shifted } = splits(domain);
  const testMetrics = await agent.evaluate(test, { head: null });
  const shiftedMetrics = await agent.evaluate(shifted, { head: null });

  // Text-dependent cases: the GPT against the rules-only baseline (same policy, text ignored).
  const textCases = test.filter((c) => c.textDependent);
  const textModel = await agent.evaluate(textCases, { head: null });
  const rulesAccuracy = textCases.filter((c) => c.rulesLabel === c.label).length / Math.max(1, textCases.length);
  const rulesAll = test.filter((c) => c.rulesLabel === c.label).length / test.length;

  // Cases people wrote by hand (test/decision/fixtures/natural-<model>.jsonl): reported, not tuned on.
  const naturalFile = fileURLToPath(new URL(`../test/decision/fixtures/natural-${domain}.jsonl`, import.meta.url));
  const natural = existsSync(naturalFile) ? readLabelledCases(naturalFile) : [];
  const naturalResults = await agent.inferBatch(natural.map((c) => c.variables));
  const naturalMisses = natural.flatMap((c, i) => (naturalResults[i]!.label === c.label ? [] : [{ text: String(c.variables.purpose ?? c.variables.notes), expected: c.label, got: naturalResults[i]!.label, confidence: naturalResults[i]!.confidence }]));

  // Latency: one decision at a time; throughput: 2000 concurrent decisions (batched by the runtime).
  for (const c of test.slice(0, 20)) await agent.infer(c.variables);
  const latencies: number[] = [];
  for (const c of test.slice(0, 300)) {
    const t = performance.now();
    await agent.infer(c.variables);
    latencies.push(performance.now() - t);
  }
  const batchStart = performance.now();
  await agent.inferBatch(test.map((c) => c.variables));
  const batchPerS = test.length / ((performance.now() - batchStart) / 1000);

  return {
    model: domain,
    version: agent.baseVersion,
    threshold: agent.model.config.threshold,
    test: testMetrics,
    shifted: shiftedMetrics,
    textDependent: { cases: textCases.length, modelAccuracy: textModel.accuracy, rulesOnlyAccuracy: rulesAccuracy },
    rulesOnlyAccuracy: rulesAll,
    natural: { cases: natural.length, correct: natural.length - naturalMisses.length, misses: naturalMisses },
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    batchPerS,
    coldLoadMs,
    params: agent.model.config.parameters as number | undefined,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { model: { type: 'string' }, json: { type: 'string' }, 'write-cards': { type: 'boolean', default: false }, 'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR } } });
  const domains: DomainName[] = values.model ? [values.model as DomainName] : ['loan', 'order'];
  const results: Awaited<ReturnType<typeof evaluateModel>>[] = [];
  for (const domain of domains) {
    const r = await evaluateModel(domain, values['models-dir']!);
    results.push(r);
    if (values['write-cards']) writeModelCard(values['models-dir']!, domain, r);
    console.log(
      `${domain} ${r.version}: test accuracy ${r.test.accuracy.toFixed(4)} (rules-only ${r.rulesOnlyAccuracy.toFixed(4)}), shifted ${r.shifted.accuracy.toFixed(4)}, ` +
        `text-dependent ${r.textDependent.modelAccuracy.toFixed(4)} vs rules-only ${r.textDependent.rulesOnlyAccuracy.toFixed(4)} (${r.textDependent.cases} cases), ` +
        `ECE ${r.test.ece.toFixed(4)}, threshold ${r.threshold}: auto ${r.test.autoRate.toFixed(4)} at precision ${r.test.autoPrecision.toFixed(4)}, ` +
        `hand-written ${r.natural.correct}/${r.natural.cases}, p50 ${r.p50Ms.toFixed(2)} ms p95 ${r.p95Ms.toFixed(2)} ms, batched ${r.batchPerS.toFixed(0)}/s, cold load ${r.coldLoadMs.toFixed(0)} ms`,
    );
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
  const pooled = (pick: (r: (typeof results)[number]) => { cases: number; value: number }) => {
    const parts = results.map(pick);
    return parts.reduce((s, p) => s + p.cases * p.value, 0) / parts.reduce((s, p) => s + p.cases, 0);
  };
  const accuracy = pooled((r) => ({ cases: r.test.cases, value: r.test.accuracy }));
  const shiftedAccuracy = pooled((r) => ({ cases: r.shifted.cases, value: r.shifted.accuracy }));
  const ece = pooled((r) => ({ cases: r.test.cases, value: r.test.ece }));
  const autoRate = pooled((r) => ({ cases: r.test.cases, value: r.test.autoRate }));
  const autoPrecision = pooled((r) => ({ cases: r.test.cases * r.test.autoRate, value: r.test.autoPrecision }));
  const p50 = Math.max(...results.map((r) => r.p50Ms));
  const batch = Math.min(...results.map((r) => r.batchPerS));
  console.log(`accuracy=${r4(accuracy)} shifted_accuracy=${r4(shiftedAccuracy)} ece=${r4(ece)} auto_rate=${r4(autoRate)} auto_precision=${r4(autoPrecision)} p50_ms=${p50.toFixed(2)} batch_per_s=${batch.toFixed(0)}`);
}

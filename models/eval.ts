/**
 * `npm run eval:model` — evaluates the shipped models (models/loan, models/order) with the Node
 * runtime on the test and shifted (rephrased) splits, against the policy labels:
 * accuracy, expected calibration error, automation rate and precision at the default threshold,
 * the rules-only baseline on text-dependent cases, single-decision latency, batched throughput and
 * cold load time. The splits are regenerated from the seed when models/.work is absent.
 *
 * The natural test sets (models/data/natural/<domain>.test.jsonl, hand-written, never trained on;
 * a domain without its file is skipped with a warning) give natural accuracy, the share of cases
 * acted on without a person and the precision of those, and feed the behavioural suite
 * (models/checklist.ts): flips under meaning-preserving perturbations, directional failures across
 * policy thresholds and departures from the policy in number sweeps.
 *
 * The later measured sets (LATER_SETS: <domain>.holdout.jsonl and .third.jsonl to .tenth.jsonl beside
 * it, written later by other hands, never trained or tuned on) give one line each per model and one
 * pooled line each (`holdout: ...`, `third: ...` to `tenth: ...`; a set only one domain has pools
 * that domain) before the last.
 *
 * Contrast sets (CONTRAST_SETS: <domain>.contrast.txt, .meaning-first.txt, .openings.txt,
 * .idioms.txt, .wording.txt and .everyday.txt beside them, hand-written, never trained on; a
 * domain without a file skips that set): texts that use the words of one meaning in another sense,
 * a meaning said first, a short opening that decides, urgency in idioms and in everyday wording, and
 * notes in everyday words a delivery note seldom uses; each text on the reference field sets where
 * the text alone decides. One line per model and set: `<domain> <set>: <texts>
 * texts on <n> field sets, <automated> of <cases> automated, <wrong> wrong (<texts> texts)`.
 *
 * Misspelt decisions: each natural and holdout case with a decisive word of five letters or more
 * gets one copy with that word misspelt (perturbation `typo-decisive`, seeded by the case id); a
 * reader still sees the same case, so a copy may go to a person but an automated answer must be the
 * policy's. One line per model: `<domain> misspelt: <copies> copies, <automated> automated, <wrong> wrong`.
 *
 * The last line is pooled over both models (latency: the slower model; flips: the sum):
 * `accuracy=<x> shifted_accuracy=<x> natural_accuracy=<x> natural_auto_rate=<x> natural_auto_precision=<x>
 *  perturbation_flips=<n> ece=<x> p50_ms=<x> batch_per_s=<x>` (one line; n/a without natural files)
 *
 * Usage: tsx models/eval.ts [--model loan|order] [--json FILE] [--write-cards] [--models-dir DIR]
 *        [--natural-dir DIR] [--seed N]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DecisionAgent, DEFAULT_MODELS_DIR, readLabelledCases, type LabelledCase } from '../nodes/decision/agent.ts';
import { fileURLToPath } from 'node:url';
import { loadDecisionModel } from '../nodes/decision/model.ts';
import { defaultSplitFile, rng } from './data/generate.ts';
import type { DomainName } from './data/domains.ts';
import { writeModelCard } from './card.ts';
import {
  answerCounts,
  answerOf,
  decideAll,
  naturalMetrics,
  readNaturalCases,
  runChecklist,
  type NaturalCase,
} from './checklist.ts';
import { hash, perturbText, TEXT_VARIABLE } from './data/perturb.ts';
import { readDraft } from './data/natural/label-loan.ts';
import { parseDraft } from './data/natural/label-order.ts';
import { onReferenceFields } from './neighbours.ts';

/** Where the natural test sets live: models/data/natural/<domain>.test.jsonl. */
export const DEFAULT_NATURAL_DIR = fileURLToPath(new URL('./data/natural/', import.meta.url));

interface Row extends LabelledCase {
  textDependent: boolean;
  rulesLabel: string;
}

export function splits(domain: DomainName): { test: Row[]; shifted: Row[] } {
  const read = (split: 'test' | 'shifted'): Row[] =>
    readFileSync(defaultSplitFile(domain, split), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const row = JSON.parse(line) as {
          id: string;
          vars: Record<string, unknown>;
          policyLabel: string;
          rulesLabel: string;
          textDependent: boolean;
        };
        return {
          id: row.id,
          variables: row.vars,
          label: row.policyLabel,
          rulesLabel: row.rulesLabel,
          textDependent: row.textDependent,
        };
      });
  return { test: read('test'), shifted: read('shifted') };
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const r4 = (x: number) => Math.round(x * 10000) / 10000;

/** The natural test set of a domain with the checklist suite over it; null (and a warning) when its file is absent. */
async function evaluateNatural(agent: DecisionAgent, domain: DomainName, naturalDir: string, seed: number) {
  const file = join(naturalDir, `${domain}.test.jsonl`);
  if (!existsSync(file)) {
    process.stderr.write(`warning: ${file} is absent: natural metrics and the perturbation suite skip ${domain}\n`);
    return null;
  }
  const cases = readNaturalCases(file);
  const outcomes = await decideAll(
    agent,
    cases.map((c) => c.variables),
  );
  const metrics = naturalMetrics(domain, agent.labels, cases, outcomes);
  if (metrics.policyMismatches.length > 0) {
    process.stderr.write(
      `warning: ${metrics.policyMismatches.length} lines of ${file} have a policyLabel the policy does not give: ${metrics.policyMismatches.slice(0, 5).join(', ')}\n`,
    );
  }
  const checklist = await runChecklist(agent, domain, cases, outcomes, { seed });
  return { file, ...metrics, checklist };
}

/** The measured sets beside the natural set, in the order they were written. */
export const LATER_SETS = [
  'holdout',
  'third',
  'fourth',
  'fifth',
  'sixth',
  'seventh',
  'eighth',
  'ninth',
  'tenth',
] as const;
export type LaterSet = (typeof LATER_SETS)[number];

/**
 * A measured set of a domain beside the natural set (<domain>.holdout.jsonl: written later, by
 * another hand, never trained or tuned on; <domain>.third.jsonl to .tenth.jsonl: written later
 * still): accuracy, automation and precision, no suite. Null when absent.
 */
export async function evaluateHoldout(
  agent: DecisionAgent,
  domain: DomainName,
  naturalDir: string,
  set: LaterSet = 'holdout',
) {
  const file = join(naturalDir, `${domain}.${set}.jsonl`);
  if (!existsSync(file)) return null;
  const cases = readNaturalCases(file);
  const outcomes = await decideAll(
    agent,
    cases.map((c) => c.variables),
  );
  const {
    byStyle: _byStyle,
    policyMismatches: _mismatches,
    ...metrics
  } = naturalMetrics(domain, agent.labels, cases, outcomes);
  const { automated, wrong } = answerCounts(cases, outcomes);
  return { file, ...metrics, automated, wrong };
}

/**
 * The hand-written sets measured on the reference field sets, in the draft format of their domain:
 * `contrast`, texts in the words of another meaning ("investing in my pension", "14 Leeds Road");
 * `meaning-first`, a meaning said first and an ordinary instruction after it ("top priority order,
 * the buzzer says Okafor"), the wording the grammar wrote only the other way round; `openings`, a
 * short opening that decides (urgent or plainly ordinary) alone and before ordinary endings
 * ("Emergency order, leave it behind the bins"); `idioms`, urgency or its absence in an idiom with
 * no urgency word ("Time is of the essence, drop it in the porch"); `wording`, urgency or its absence in
 * everyday wording ("Please don't let this one sit in a queue, the side gate is open"); `everyday`,
 * notes in everyday words a delivery note seldom uses, unhurried or urgent ("The greenhouse is
 * unlocked, pop it on the potting bench", "Please dispatch this posthaste").
 */
export const CONTRAST_SETS = ['contrast', 'meaning-first', 'openings', 'idioms', 'wording', 'everyday'] as const;
export type ContrastSet = (typeof CONTRAST_SETS)[number];

/** A contrast set's texts, each on the domain's reference field sets with the policy's label; null without the file. */
export function contrastCases(domain: DomainName, naturalDir: string, set: ContrastSet = 'contrast') {
  const file = join(naturalDir, `${domain}.${set}.txt`);
  if (!existsSync(file)) return null;
  const texts =
    domain === 'loan'
      ? readDraft(file).map((l) => ({ intent: l.intent, text: l.purpose }))
      : parseDraft(readFileSync(file, 'utf8')).map((l) => ({ intent: l.intent, text: l.notes }));
  return { file, texts, cases: onReferenceFields(domain, texts) };
}

/**
 * A contrast set of a domain (<domain>.<set>.txt beside the natural sets, hand-written, never
 * trained on; CONTRAST_SETS), each text put on the domain's reference field sets (REFERENCE_FIELDS,
 * where the text alone decides) and labelled by the written policy. Null when absent.
 */
export async function evaluateContrast(
  agent: DecisionAgent,
  domain: DomainName,
  naturalDir: string,
  set: ContrastSet = 'contrast',
) {
  const contrast = contrastCases(domain, naturalDir, set);
  if (!contrast) return null;
  const { file, texts, cases } = contrast;
  const answers = (
    await decideAll(
      agent,
      cases.map((c) => c.vars),
    )
  ).map(answerOf);
  const wrong = cases.flatMap((c, i) =>
    answers[i] !== 'review' && answers[i] !== c.label
      ? [{ text: c.text, intent: c.intent, expected: c.label, got: answers[i]! }]
      : [],
  );
  return {
    set,
    file,
    texts: texts.length,
    cases: cases.length,
    automated: answers.filter((a) => a !== 'review').length,
    wrong: wrong.length,
    wrongTexts: [...new Set(wrong.map((w) => w.text))].length,
    examples: wrong,
  };
}

/**
 * One copy of each case with a decisive word misspelt: how many copies the model acts on, and how
 * many of those it gets wrong. Cases without a decisive word of five letters or more have no copy.
 */
export async function evaluateMisspelt(agent: DecisionAgent, domain: DomainName, cases: NaturalCase[], seed = 1) {
  const variable = TEXT_VARIABLE[domain];
  const copies = cases.flatMap((c) => {
    const text = c.variables[variable];
    const out =
      typeof text === 'string'
        ? perturbText(text, domain, 'typo-decisive', rng(hash(`${seed}:${c.id}:misspelt`)))
        : null;
    return out === null ? [] : [{ case: c, text: out }];
  });
  const outcomes = await decideAll(
    agent,
    copies.map((c) => ({ ...c.case.variables, [variable]: c.text })),
  );
  const answers = outcomes.map(answerOf);
  const automated = answers.filter((a) => a !== 'review').length;
  const wrong = copies.flatMap((c, i) =>
    answers[i] !== 'review' && answers[i] !== c.case.label
      ? [{ id: c.case.id, text: c.text, expected: c.case.label, got: answers[i]! }]
      : [],
  );
  return { copies: copies.length, automated, wrong: wrong.length, examples: wrong.slice(0, 20) };
}

export async function evaluateModel(
  domain: DomainName,
  modelsDir: string,
  options: { naturalDir?: string; seed?: number } = {},
) {
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
  const naturalMisses = natural.flatMap((c, i) =>
    naturalResults[i]!.label === c.label
      ? []
      : [
          {
            text: String(c.variables.purpose ?? c.variables.notes),
            expected: c.label,
            got: naturalResults[i]!.label,
            confidence: naturalResults[i]!.confidence,
          },
        ],
  );

  const { naturalDir = DEFAULT_NATURAL_DIR, seed = 1 } = options;
  const naturalSet = await evaluateNatural(agent, domain, naturalDir, seed);
  const laterSets = {} as Record<LaterSet, Awaited<ReturnType<typeof evaluateHoldout>>>;
  for (const set of LATER_SETS) laterSets[set] = await evaluateHoldout(agent, domain, naturalDir, set);
  const naturalFiles = ['test', 'holdout']
    .map((set) => join(naturalDir, `${domain}.${set}.jsonl`))
    .filter((file) => existsSync(file));
  const misspelt = await evaluateMisspelt(agent, domain, naturalFiles.flatMap(readNaturalCases), seed);
  const contrast = [];
  for (const set of CONTRAST_SETS) {
    const result = await evaluateContrast(agent, domain, naturalDir, set);
    if (result) contrast.push(result);
  }

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
    naturalSet,
    laterSets,
    misspelt,
    contrast,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    batchPerS,
    coldLoadMs,
    params: agent.model.config.parameters as number | undefined,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      json: { type: 'string' },
      'write-cards': { type: 'boolean', default: false },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
      'natural-dir': { type: 'string', default: DEFAULT_NATURAL_DIR },
      seed: { type: 'string', default: '1' },
    },
  });
  const domains: DomainName[] = values.model ? [values.model as DomainName] : ['loan', 'order'];
  const results: Awaited<ReturnType<typeof evaluateModel>>[] = [];
  for (const domain of domains) {
    const r = await evaluateModel(domain, values['models-dir']!, {
      naturalDir: resolve(values['natural-dir']!),
      seed: Number(values.seed),
    });
    results.push(r);
    if (values['write-cards']) writeModelCard(values['models-dir']!, domain, r);
    console.log(
      `${domain} ${r.version}: test accuracy ${r.test.accuracy.toFixed(4)} (rules-only ${r.rulesOnlyAccuracy.toFixed(4)}), shifted ${r.shifted.accuracy.toFixed(4)}, ` +
        `text-dependent ${r.textDependent.modelAccuracy.toFixed(4)} vs rules-only ${r.textDependent.rulesOnlyAccuracy.toFixed(4)} (${r.textDependent.cases} cases), ` +
        `ECE ${r.test.ece.toFixed(4)}, threshold ${r.threshold}: auto ${r.test.autoRate.toFixed(4)} at precision ${r.test.autoPrecision.toFixed(4)}, ` +
        `hand-written ${r.natural.correct}/${r.natural.cases}, p50 ${r.p50Ms.toFixed(2)} ms p95 ${r.p95Ms.toFixed(2)} ms, batched ${r.batchPerS.toFixed(0)}/s, cold load ${r.coldLoadMs.toFixed(0)} ms`,
    );
    const n = r.naturalSet;
    if (n) {
      const c = n.checklist;
      console.log(
        `${domain} natural: accuracy ${n.accuracy.toFixed(4)} (${n.cases} cases), automated ${n.autoRate.toFixed(4)} at precision ${n.autoPrecision.toFixed(4)}, ECE ${n.ece.toFixed(4)}; ` +
          `perturbation_flips=${c.invariance.flips} (of ${c.invariance.automated} automated cases, ${c.invariance.variants} copies, ${c.invariance.toReview} to review) ` +
          `directional_failures=${c.directional.failures}/${c.directional.pairs} sweep_departures=${c.sweeps.departures}/${c.sweeps.points} (${c.sweeps.reviews} to review)`,
      );
    }
    for (const set of LATER_SETS) {
      const h = r.laterSets[set];
      if (h)
        console.log(
          `${domain} ${set}: accuracy ${h.accuracy.toFixed(4)} (${h.cases} cases), automated ${h.autoRate.toFixed(4)} at precision ${h.autoPrecision.toFixed(4)} (${h.wrong} wrong of ${h.automated}), ECE ${h.ece.toFixed(4)}`,
        );
    }
    const m = r.misspelt;
    console.log(`${domain} misspelt: ${m.copies} copies, ${m.automated} automated, ${m.wrong} wrong`);
    for (const k of r.contrast)
      console.log(
        `${domain} ${k.set}: ${k.texts} texts on ${k.cases / k.texts} field sets, ${k.automated} of ${k.cases} automated, ${k.wrong} wrong (${k.wrongTexts} texts)`,
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
  const withNatural = results.filter((r) => r.naturalSet);
  const naturalPooled = (
    pick: (n: NonNullable<(typeof results)[number]['naturalSet']>) => { cases: number; value: number },
  ) => {
    const parts = withNatural.map((r) => pick(r.naturalSet!));
    const cases = parts.reduce((s, p) => s + p.cases, 0);
    return cases === 0 ? 'n/a' : String(r4(parts.reduce((s, p) => s + p.cases * p.value, 0) / cases));
  };
  const naturalAccuracy = naturalPooled((n) => ({ cases: n.cases, value: n.accuracy }));
  const naturalAutoRate = naturalPooled((n) => ({ cases: n.cases, value: n.autoRate }));
  const naturalAutoPrecision = naturalPooled((n) => ({ cases: n.cases * n.autoRate, value: n.autoPrecision }));
  const flips = withNatural.length
    ? String(withNatural.reduce((s, r) => s + r.naturalSet!.checklist.invariance.flips, 0))
    : 'n/a';
  const p50 = Math.max(...results.map((r) => r.p50Ms));
  const batch = Math.min(...results.map((r) => r.batchPerS));
  console.log(`synthetic test: auto_rate=${r4(autoRate)} auto_precision=${r4(autoPrecision)}`);
  for (const set of LATER_SETS) {
    const sets = results.flatMap((r) => (r.laterSets[set] ? [r.laterSets[set]] : []));
    if (sets.length === 0) continue;
    const sum = (pick: (h: (typeof sets)[number]) => number) => sets.reduce((s, h) => s + pick(h), 0);
    const cases = sum((h) => h.cases);
    const automated = sum((h) => h.automated);
    const wrong = sum((h) => h.wrong);
    console.log(
      `${set}: accuracy=${r4(sum((h) => h.accuracy * h.cases) / cases)} auto_rate=${r4(automated / cases)} ` +
        `auto_precision=${automated ? r4((automated - wrong) / automated) : 'n/a'} (${wrong} wrong of ${automated} automated, ${cases} cases)`,
    );
  }
  console.log(
    `accuracy=${r4(accuracy)} shifted_accuracy=${r4(shiftedAccuracy)} natural_accuracy=${naturalAccuracy} natural_auto_rate=${naturalAutoRate} ` +
      `natural_auto_precision=${naturalAutoPrecision} perturbation_flips=${flips} ece=${r4(ece)} p50_ms=${p50.toFixed(2)} batch_per_s=${batch.toFixed(0)}`,
  );
}

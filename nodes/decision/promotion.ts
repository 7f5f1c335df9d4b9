/**
 * The promotion gate for heads trained from reviewers' answers. A candidate head is compared with
 * the active version on the same cases (paired), on the reviewed held-out cases and on fixed sets
 * that reviewers cannot move: the standard synthetic test split, the shifted split and the natural
 * hand-written set, labelled by the written policy. Each difference gets a paired bootstrap
 * confidence interval; the candidate passes only when no interval shows a regression beyond its
 * margin (non-inferiority), and it then enters a shadow period instead of deciding (agent.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rng } from '../../models/data/generate.ts';
import type { LabelledCase } from './agent.ts';
import { qualityMetrics } from './scoring.ts';

/** One case as a version scored it: label probabilities and the index of the true label. */
export interface Outcome {
  probs: readonly number[];
  truth: number;
}

/** A difference candidate − active with its 95 % paired bootstrap interval. */
export interface MetricComparison {
  candidate: number;
  active: number;
  diff: number;
  lower: number;
  upper: number;
}

export type GateMetric = 'accuracy' | 'autoPrecision' | 'ece' | 'meanConfidence';

/**
 * Why a set refuses the candidate. `regression`: the measured difference itself is worse than the
 * margin (or, for overconfidence and the reviewed cases, than zero); `insufficient-evidence`: the
 * difference is within the margin but its interval reaches beyond it, so no regression is ruled out.
 */
export interface GateFinding {
  set: string;
  metric: GateMetric;
  kind: 'regression' | 'insufficient-evidence';
  message: string;
}

export interface SetEvaluation {
  set: string;
  cases: number;
  metrics: Record<GateMetric, MetricComparison>;
  /** Empty when the set lets the candidate pass. */
  findings: GateFinding[];
}

/** What may not get worse, and by how much: the interval's worse end is compared with the margin. */
export const MARGINS = {
  /** Accuracy and precision of automated answers may not fall by more than this (lower bound of the difference). */
  accuracy: 0.01,
  autoPrecision: 0.01,
  /** ECE may not rise by more than this (upper bound of the difference). */
  ece: 0.02,
} as const;

export interface GateOptions {
  threshold: number;
  /** Bootstrap resamples (default 1000). */
  samples?: number;
  seed?: number;
}

function summary(outcomes: readonly Outcome[], threshold: number): Record<GateMetric, number> {
  const q = qualityMetrics(outcomes as Outcome[], threshold);
  let confidence = 0;
  for (const o of outcomes) confidence += Math.max(...o.probs);
  return {
    accuracy: q.accuracy,
    autoPrecision: q.autoPrecision,
    ece: q.ece,
    meanConfidence: confidence / Math.max(1, outcomes.length),
  };
}

const quantile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))]!;

/**
 * Paired bootstrap: the same resampled cases are scored by both versions, so the interval is about
 * the difference between them, not about either's own sampling noise.
 */
export function pairedBootstrap(
  candidate: readonly Outcome[],
  active: readonly Outcome[],
  options: GateOptions,
): Record<GateMetric, MetricComparison> {
  const n = candidate.length;
  const samples = options.samples ?? 1000;
  const random = rng(options.seed ?? 16);
  const point = { candidate: summary(candidate, options.threshold), active: summary(active, options.threshold) };
  const keys: GateMetric[] = ['accuracy', 'autoPrecision', 'ece', 'meanConfidence'];
  const diffs = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<GateMetric, number[]>;
  for (let b = 0; b < samples && n > 0; b++) {
    const c: Outcome[] = new Array(n);
    const a: Outcome[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * n);
      c[i] = candidate[k]!;
      a[i] = active[k]!;
    }
    const sc = summary(c, options.threshold);
    const sa = summary(a, options.threshold);
    for (const key of keys) diffs[key].push(sc[key] - sa[key]);
  }
  return Object.fromEntries(
    keys.map((key) => {
      const sorted = diffs[key].sort((x, y) => x - y);
      const diff = point.candidate[key] - point.active[key];
      const [lower, upper] = n ? [quantile(sorted, 0.025), quantile(sorted, 0.975)] : [diff, diff];
      return [key, { candidate: point.candidate[key], active: point.active[key], diff, lower, upper }];
    }),
  ) as Record<GateMetric, MetricComparison>;
}

const f = (x: number) => (x >= 0 ? `+${x.toFixed(4)}` : x.toFixed(4));
const ci = (m: MetricComparison) => `${f(m.diff)} [${f(m.lower)}, ${f(m.upper)}]`;

/**
 * A guard set's verdict: accuracy and precision of automated answers must not fall, ECE must not
 * rise, beyond the margins at the 95 % interval's worse end; on the standard split, a candidate
 * whose mean confidence rises while its accuracy falls is overconfident.
 */
export function evaluateGuardSet(
  set: string,
  candidate: readonly Outcome[],
  active: readonly Outcome[],
  options: GateOptions,
): SetEvaluation {
  const metrics = pairedBootstrap(candidate, active, options);
  const findings: GateFinding[] = [];
  const finding = (metric: GateMetric, kind: GateFinding['kind'], message: string) =>
    findings.push({ set, metric, kind, message });
  const mayNotFall = (metric: 'accuracy' | 'autoPrecision', words: string) => {
    const m = metrics[metric];
    const margin = MARGINS[metric];
    if (m.diff < -margin) finding(metric, 'regression', `${set} ${words} ${ci(m)} falls by more than ${margin}`);
    else if (m.lower < -margin)
      finding(metric, 'insufficient-evidence', `${set} ${words} ${ci(m)} may fall by more than ${margin}`);
  };
  mayNotFall('accuracy', 'accuracy');
  mayNotFall('autoPrecision', 'precision of automated answers');
  const ece = metrics.ece;
  if (ece.diff > MARGINS.ece) finding('ece', 'regression', `${set} ECE ${ci(ece)} rises by more than ${MARGINS.ece}`);
  else if (ece.upper > MARGINS.ece)
    finding('ece', 'insufficient-evidence', `${set} ECE ${ci(ece)} may rise by more than ${MARGINS.ece}`);
  if (set === 'standard' && metrics.meanConfidence.diff > 0 && metrics.accuracy.upper < 0) {
    const words = `mean confidence ${ci(metrics.meanConfidence)} rises while accuracy ${ci(metrics.accuracy)} falls`;
    finding('meanConfidence', 'regression', `${set} overconfident: ${words}`);
  }
  return { set, cases: candidate.length, metrics, findings };
}

/** The reviewed held-out cases: the candidate must answer more of them right than the active version. */
export function evaluateReviewedSet(
  candidate: readonly Outcome[],
  active: readonly Outcome[],
  options: GateOptions,
): SetEvaluation {
  const metrics = pairedBootstrap(candidate, active, options);
  const beaten = metrics.accuracy.active.toFixed(4);
  const message = `reviewed held-out accuracy ${ci(metrics.accuracy)} does not beat the active version (${beaten})`;
  const findings: GateFinding[] =
    metrics.accuracy.diff > 0 ? [] : [{ set: 'reviewed', metric: 'accuracy', kind: 'regression', message }];
  return { set: 'reviewed', cases: candidate.length, metrics, findings };
}

/**
 * Every set the gate looks at, in order: the reviewed held-out cases (already scored: the caller
 * reports their metrics too), then each guard set, scored by the candidate and the active version
 * on the same cases.
 */
export async function evaluateGateSets(
  reviewed: { candidate: Outcome[]; active: Outcome[] },
  guardSets: readonly GuardSet[],
  score: (cases: LabelledCase[]) => Promise<{ candidate: Outcome[]; active: Outcome[] }>,
  options: GateOptions,
): Promise<SetEvaluation[]> {
  const evaluation = [evaluateReviewedSet(reviewed.candidate, reviewed.active, options)];
  for (const set of guardSets) {
    const o = await score(set.cases);
    evaluation.push(evaluateGuardSet(set.name, o.candidate, o.active, options));
  }
  return evaluation;
}

/** One line per set for the train report. */
export function describeSet(e: SetEvaluation): string {
  const m = e.metrics;
  const both = (c: MetricComparison) => `${c.candidate.toFixed(4)} vs ${c.active.toFixed(4)}`;
  return (
    `${e.set} (${e.cases}): accuracy ${both(m.accuracy)} ${ci(m.accuracy)}, ` +
    `auto precision ${both(m.autoPrecision)} ${ci(m.autoPrecision)}, ECE ${both(m.ece)} ${ci(m.ece)}, mean confidence ${both(m.meanConfidence)}`
  );
}

/** A guard set: cases labelled by the written policy that reviewers' answers cannot change. */
export interface GuardSet {
  name: string;
  cases: LabelledCase[];
}

/** Cases of the standard and shifted splits checked by the gate (an even subsample, for speed). */
export const GUARD_SPLIT_CASES = 600;

const guardSets = new Map<string, Promise<GuardSet[]>>();

function evenSample<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]!);
}

/**
 * The guard sets of a shipped domain (loan, order): the standard and shifted synthetic splits
 * (regenerated from the seed by models/eval.ts) and the natural hand-written test set. Other models
 * have none; the gate then rests on the reviewed held-out cases and the shadow period.
 */
export function defaultGuardSets(domain: string): Promise<GuardSet[]> {
  if (domain !== 'loan' && domain !== 'order') return Promise.resolve([]);
  let sets = guardSets.get(domain);
  if (!sets) {
    sets = (async () => {
      const { splits } = await import('../../models/eval.ts');
      const { readLabelledCases } = await import('./agent.ts');
      const { test, shifted } = splits(domain);
      const natural = fileURLToPath(new URL(`../../models/data/natural/${domain}.test.jsonl`, import.meta.url));
      return [
        { name: 'standard', cases: evenSample(test, GUARD_SPLIT_CASES) },
        { name: 'shifted', cases: evenSample(shifted, GUARD_SPLIT_CASES) },
        ...(existsSync(natural) ? [{ name: 'natural', cases: readLabelledCases(natural) }] : []),
      ];
    })();
    guardSets.set(domain, sets);
    sets.catch(() => guardSets.delete(domain));
  }
  return sets;
}

/**
 * Replayed original data: synthetic training cases labelled by the policy (no label noise), mixed
 * into a head's training set so that it does not forget what the base model knew. Seeded, so a
 * training run is reproducible; a seed apart from the corpus's so no test case is replayed.
 */
export async function replayCases(domain: string, count: number, seed = 20261202): Promise<LabelledCase[]> {
  if ((domain !== 'loan' && domain !== 'order') || count <= 0) return [];
  const { makeCase } = await import('../../models/data/generate.ts');
  const random = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const c = makeCase(domain, random, 'train', 0, `replay-${i}`);
    return { id: c.id, variables: c.vars, label: c.policyLabel };
  });
}

/** The shadow comparison of a version (a row of the decision_shadow_comparison view). */
export interface ShadowComparison {
  decisions: number;
  reviewed: number;
  activeCorrect: number;
  shadowCorrect: number;
}

/**
 * Whether a version in shadow may become active: its shadow period is complete (`required`
 * decisions scored beside the active version), enough of those decisions were reviewed, and on them
 * it answered at least as many right as the active version. Returns the reason it may not, or null.
 */
export function shadowRefusal(c: ShadowComparison, required: { decisions: number; reviews: number }): string | null {
  if (c.decisions < required.decisions)
    return `shadow period not complete: ${c.decisions} of ${required.decisions} decisions scored`;
  if (c.reviewed < required.reviews) return `too few reviewed shadow decisions: ${c.reviewed} of ${required.reviews}`;
  if (c.shadowCorrect < c.activeCorrect) {
    const counts = `${c.shadowCorrect} of ${c.reviewed} right against ${c.activeCorrect} for the active version`;
    return `shadow answers regressed on reviewed decisions: ${counts}`;
  }
  return null;
}

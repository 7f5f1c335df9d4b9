/**
 * Runs the behavioural suite of models/data/perturb.ts and the natural-set metrics against a
 * decision model (the Node runtime, as the engine runs it). Used by `npm run eval:model`.
 *
 * An answer is *automated* when the process would act on it without a person: the decision does
 * not need review and its label is not an abstaining one (`review`). A case the model cannot take
 * (a variable missing or blank: an incident in a process) counts as going to a person.
 */
import { readFileSync } from 'node:fs';
import type { DecisionAgent, InferOptions } from '../nodes/decision/agent.ts';
import { qualityMetrics } from '../nodes/decision/scoring.ts';
import { ABSTAIN_LABELS } from '../engine/ui/review.ts';
import type { DomainName } from './data/domains.ts';
import {
  directionalPairs,
  perturbations,
  policyLabel,
  sweepPoints,
  TEXT_VARIABLE,
  type PerturbationName,
} from './data/perturb.ts';

/** One line of models/data/natural/<domain>.test.jsonl. */
export interface NaturalCase {
  id: string;
  variables: Record<string, unknown>;
  intent: string;
  label: string;
  style: string;
}

/** Reads a natural test file (`{ id, vars, intent, policyLabel, style }` per line). */
export function readNaturalCases(file: string): NaturalCase[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line, i) => {
      const row = JSON.parse(line) as {
        id?: string;
        vars: Record<string, unknown>;
        intent: string;
        policyLabel: string;
        style?: string;
      };
      return {
        id: row.id ?? `line-${i + 1}`,
        variables: row.vars,
        intent: row.intent,
        label: row.policyLabel,
        style: row.style ?? 'unknown',
      };
    });
}

export interface Outcome {
  label?: string;
  confidence?: number;
  scores?: Record<string, number>;
  needsReview: boolean;
  error?: string;
}

/** 'review' when a person decides, else the label acted on. */
export const answerOf = (o: Outcome): string =>
  o.error || o.needsReview || !o.label || ABSTAIN_LABELS.includes(o.label) ? 'review' : o.label;

/** Decides every case (they share inference batches); a case the model refuses becomes `{ error }`. */
export async function decideAll(
  agent: DecisionAgent,
  cases: Record<string, unknown>[],
  options: InferOptions = {},
): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < cases.length; i += 512) {
    out.push(
      ...(await Promise.all(
        cases.slice(i, i + 512).map((vars) =>
          agent.infer(vars, options).then(
            (r): Outcome => ({
              label: r.label,
              confidence: r.confidence,
              scores: r.scores,
              needsReview: r.needsReview,
            }),
            (error: unknown): Outcome => ({
              needsReview: true,
              error: error instanceof Error ? error.message : String(error),
            }),
          ),
        ),
      )),
    );
  }
  return out;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

export interface NaturalMetrics {
  cases: number;
  accuracy: number;
  autoRate: number;
  autoPrecision: number;
  ece: number;
  policyMismatches: string[];
}

/** How many labels are the policy's, how many answers are automated and how many of those are wrong. */
export function answerCounts(cases: Pick<NaturalCase, 'label'>[], outcomes: Outcome[], idx = cases.map((_, i) => i)) {
  let right = 0;
  let automated = 0;
  let wrong = 0;
  for (const i of idx) {
    const correct = outcomes[i]!.label === cases[i]!.label;
    if (correct) right++;
    if (answerOf(outcomes[i]!) === 'review') continue;
    automated++;
    if (!correct) wrong++;
  }
  return { cases: idx.length, right, automated, wrong };
}

/** Accuracy (the model's label against the policy's), automation and its precision, ECE. */
export function naturalMetrics(
  domain: DomainName,
  labels: string[],
  cases: NaturalCase[],
  outcomes: Outcome[],
): NaturalMetrics & { byStyle: Record<string, Omit<NaturalMetrics, 'ece' | 'policyMismatches'>> } {
  const score = (idx: number[]) => {
    const { right, automated, wrong } = answerCounts(cases, outcomes, idx);
    return {
      cases: idx.length,
      accuracy: ratio(right, idx.length),
      autoRate: ratio(automated, idx.length),
      autoPrecision: automated ? ratio(automated - wrong, automated) : 1,
    };
  };
  const all = cases.map((_, i) => i);
  const scored = all.filter((i) => outcomes[i]!.scores && labels.includes(cases[i]!.label));
  const ece = scored.length
    ? qualityMetrics(
        scored.map((i) => ({
          probs: labels.map((l) => outcomes[i]!.scores![l] ?? 0),
          truth: labels.indexOf(cases[i]!.label),
        })),
        1,
      ).ece
    : 0;
  const styles = [...new Set(cases.map((c) => c.style))].sort();
  const byStyle = Object.fromEntries(
    styles.map((style) => [style, score(all.filter((i) => cases[i]!.style === style))]),
  );
  const policyMismatches = cases.flatMap((c) => {
    try {
      return policyLabel(domain, c.variables, c.intent) === c.label ? [] : [c.id];
    } catch {
      return [c.id];
    }
  });
  return { ...score(all), ece, policyMismatches, byStyle };
}

export interface ChecklistReport {
  invariance: {
    /** Cases whose original answer was automated. */
    automated: number;
    variants: number;
    /** Automated cases with at least one perturbed copy answered automatically with another label. */
    flips: number;
    /** Perturbed copies of automated cases that went to a person instead. */
    toReview: number;
    byPerturbation: Record<string, { variants: number; flips: number; toReview: number }>;
    examples: { id: string; perturbation: PerturbationName; text: string; original: string; perturbed: string }[];
  };
  directional: {
    pairs: number;
    failures: number;
    byVariable: Record<string, { pairs: number; failures: number }>;
    examples: { id: string; side: 'low' | 'high'; policy: string; model: string }[];
  };
  sweeps: {
    points: number;
    departures: number;
    reviews: number;
    byVariable: Record<string, { points: number; departures: number[]; reviews: number[] }>;
  };
}

/** The meaning-preserving, directional and sweep tests for `cases` (seeded: the same seed, the same copies). */
export async function runChecklist(
  agent: DecisionAgent,
  domain: DomainName,
  cases: NaturalCase[],
  originals: Outcome[],
  options: { seed?: number } = {},
): Promise<ChecklistReport> {
  const seed = options.seed ?? 1;
  const textVariable = TEXT_VARIABLE[domain];

  // Invariance: perturbed copies of each case's free text.
  const variants = cases.flatMap((c, index) => {
    const text = c.variables[textVariable];
    return typeof text === 'string' ? perturbations(text, domain, seed, c.id).map((p) => ({ index, ...p })) : [];
  });
  const perturbed = await decideAll(
    agent,
    variants.map((v) => ({ ...cases[v.index]!.variables, [textVariable]: v.text })),
  );
  const invariance: ChecklistReport['invariance'] = {
    automated: originals.filter((o) => answerOf(o) !== 'review').length,
    variants: variants.length,
    flips: 0,
    toReview: 0,
    byPerturbation: {},
    examples: [],
  };
  const flipped = new Set<number>();
  variants.forEach((v, i) => {
    const stats = (invariance.byPerturbation[v.name] ??= { variants: 0, flips: 0, toReview: 0 });
    stats.variants++;
    const original = answerOf(originals[v.index]!);
    const now = answerOf(perturbed[i]!);
    if (original === 'review' || now === original) return;
    if (now === 'review') {
      stats.toReview++;
      invariance.toReview++;
      return;
    }
    stats.flips++;
    flipped.add(v.index);
    if (invariance.examples.length < 20)
      invariance.examples.push({
        id: cases[v.index]!.id,
        perturbation: v.name,
        text: v.text,
        original,
        perturbed: now,
      });
  });
  invariance.flips = flipped.size;

  // Directional: each threshold the policy cares about, crossed on each case.
  const pairs = cases.flatMap((c) => directionalPairs(domain, c.id, c.variables, c.intent));
  const sides = await decideAll(
    agent,
    pairs.flatMap((p) => [p.low.vars, p.high.vars]),
  );
  const directional: ChecklistReport['directional'] = {
    pairs: pairs.length,
    failures: 0,
    byVariable: {},
    examples: [],
  };
  pairs.forEach((p, i) => {
    const stats = (directional.byVariable[p.variable] ??= { pairs: 0, failures: 0 });
    stats.pairs++;
    const wrong = (['low', 'high'] as const).filter((side, k) => {
      const answer = answerOf(sides[2 * i + k]!);
      return answer !== 'review' && answer !== p[side].policyLabel;
    });
    if (wrong.length === 0) return;
    stats.failures++;
    directional.failures++;
    const side = wrong[0]!;
    if (directional.examples.length < 20)
      directional.examples.push({
        id: p.id,
        side,
        policy: p[side].policyLabel,
        model: answerOf(sides[2 * i + (side === 'low' ? 0 : 1)]!),
      });
  });

  // Sweeps: one field over its range, neutral text.
  const points = sweepPoints(domain);
  const swept = await decideAll(
    agent,
    points.map((p) => p.vars),
  );
  const sweeps: ChecklistReport['sweeps'] = { points: points.length, departures: 0, reviews: 0, byVariable: {} };
  points.forEach((p, i) => {
    const stats = (sweeps.byVariable[p.variable] ??= { points: 0, departures: [], reviews: [] });
    stats.points++;
    const answer = answerOf(swept[i]!);
    if (answer === 'review') {
      stats.reviews.push(p.value);
      sweeps.reviews++;
    } else if (answer !== p.policyLabel) {
      stats.departures.push(p.value);
      sweeps.departures++;
    }
  });
  return { invariance, directional, sweeps };
}

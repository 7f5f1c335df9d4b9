/**
 * `npm run models:tune-review` — chooses a shipped model's review settings for a precision target:
 * for each combination of threshold, unfamiliar-word rule, consistency copies and boundary check
 * (numbers nudged by 5 or 10 %) it prints the automation rate and the precision of automated
 * answers, and `--write` stores in models/<domain>/config.json the combination that automates most
 * at `--precision` or better.
 *
 * The cases: by default the validation cases whose text comes from the dev fold of the hand-written
 * sentences (models/.work/<domain>/val.jsonl, `handwritten: true`); `--cases FILE` (repeatable;
 * `{domain}` is replaced; `dev` is the dev fold) takes cases in the natural-set format instead or as
 * well, e.g. `--cases dev --cases 'models/data/natural/{domain}.test.jsonl'`: every hand-written case
 * the model never trained on. Because a choice made on a set flatters that set, it also prints (and
 * `--write` records) what the choice is worth on unseen cases: chosen on one random half, measured
 * on the other, ten times both ways.
 *
 * `--without-boundary` and `--without-consistency` leave those checks out of the search (each costs
 * extra forward passes on every automated decision).
 *
 * Usage: tsx models/tune-review.ts [--model loan|order] [--precision 0.99] [--cases FILE] [--without-boundary]
 *        [--without-consistency] [--write] [--work DIR] [--models-dir DIR]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DecisionAgent, DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import type { FamiliaritySettings } from '../nodes/decision/familiarity.ts';
import { answerOf, decideAll, readNaturalCases } from './checklist.ts';
import type { DomainName } from './data/domains.ts';

interface Setting {
  threshold: number;
  familiarity: FamiliaritySettings | null;
  copies: number;
  /** Numbers nudged by this share for the boundary check; 0 = off. */
  boundary: number;
}
interface Result extends Setting {
  cases: number;
  autoRate: number;
  autoPrecision: number;
}
/** A setting with its answer for every case ('review' when a person decides). */
interface Scored extends Setting {
  answers: string[];
}

/** A threshold above every tried one and every confidence but 1 (grounding.ts leaves threshold 1 alone). */
const UNDER_ALL = 1 - 1e-9;
export const THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995];
export const FAMILIARITY: (FamiliaritySettings | null)[] = [
  { minWords: 2, minShare: 0.2 },
  { minWords: 2, minShare: 0.34 },
  { minWords: 3, minShare: 0.5 },
];
const COPIES = [0, 3];
const BOUNDARY = [0, 0.05, 0.1];

/** Which values of the costly signals the search tries (default: all of BOUNDARY and COPIES). */
export interface SearchSpace {
  /** Boundary nudges tried (0 = off). */
  boundaries?: readonly number[];
  /** Consistency copies tried (0 = off). */
  copies?: readonly number[];
}

interface TuningCase {
  vars: Record<string, unknown>;
  policyLabel: string;
}

/** The dev-fold validation cases (hand-written text nobody trained on). */
export function devCases(domain: DomainName, work: string): TuningCase[] {
  return readFileSync(join(work, domain, 'val.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TuningCase & { handwritten?: boolean })
    .filter((r) => r.handwritten);
}

/** Every setting's answers on `rows`: each signal combination decided once, thresholds applied after. */
export async function scoreSettings(
  domain: DomainName,
  rows: TuningCase[],
  modelsDir = DEFAULT_MODELS_DIR,
  { boundaries = BOUNDARY, copies: copyCounts = COPIES }: SearchSpace = {},
): Promise<Scored[]> {
  const agent = await DecisionAgent.load(domain, { modelsDir });
  const config = agent.model.config;
  const saved = {
    familiarity: config.familiarity,
    consistency: config.consistency,
    boundary: config.boundary,
    threshold: config.threshold,
  };
  // Decided at the lowest threshold, so the consistency and boundary checks run on every answer a
  // tried threshold could automate; each threshold is then applied to the confidences.
  config.threshold = Math.min(...THRESHOLDS);
  const scored: Scored[] = [];
  try {
    for (const familiarity of FAMILIARITY) {
      for (const copies of copyCounts) {
        for (const boundary of config.inputs ? boundaries : [0]) {
          config.familiarity = familiarity ?? { minWords: 1e9, minShare: 2 };
          config.consistency = copies ? { copies } : undefined;
          config.boundary = boundary ? { relative: boundary } : undefined;
          const outcomes = await decideAll(
            agent,
            rows.map((r) => r.vars),
          );
          // An answer under a tried threshold is automated only when the policy grounds it
          // (grounding.ts): decided again with every answer under the threshold, so that each is
          // grounded or not, through the same checks.
          const underAll = agent.model.grounding
            ? await decideAll(
                agent,
                rows.map((r) => r.vars),
                { threshold: UNDER_ALL },
              )
            : null;
          for (const threshold of THRESHOLDS) {
            const answers = outcomes.map((o, i) =>
              o.confidence !== undefined && o.confidence < threshold
                ? underAll
                  ? answerOf(underAll[i]!)
                  : 'review'
                : answerOf(o),
            );
            scored.push({ threshold, familiarity, copies, boundary, answers });
          }
        }
      }
    }
  } finally {
    Object.assign(config, saved);
  }
  return scored;
}

/** Automation rate and precision of a setting's answers on the cases `idx`. */
function measure(s: Scored, rows: TuningCase[], idx: number[]): Result {
  const automated = idx.filter((i) => s.answers[i] !== 'review');
  const right = automated.filter((i) => s.answers[i] === rows[i]!.policyLabel).length;
  const { answers: _, ...setting } = s;
  return {
    ...setting,
    cases: idx.length,
    autoRate: idx.length ? automated.length / idx.length : 0,
    autoPrecision: automated.length ? right / automated.length : 1,
  };
}

/** The setting that automates most at `target` precision or better on `idx` (ties: the stricter threshold). */
function best(scored: Scored[], rows: TuningCase[], idx: number[], target: number): Result | undefined {
  return scored
    .map((s) => measure(s, rows, idx))
    .filter((r) => r.autoPrecision >= target)
    .sort((a, b) => b.autoRate - a.autoRate || b.threshold - a.threshold)[0];
}

/** A seeded generator of numbers in [0, 1) (a linear congruential one: the same halvings on every run). */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** 0..n-1 in a uniformly random order (Fisher-Yates; sorting with a random comparator is not uniform). */
export function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * What choosing on these cases is worth on cases it did not see: `rounds` random halvings, the
 * setting chosen on one half and measured on the other (both ways), pooled.
 */
export function crossValidate(scored: Scored[], rows: TuningCase[], target: number, rounds = 10, seed = 1) {
  const random = seededRandom(seed);
  let automated = 0;
  let right = 0;
  let seen = 0;
  for (let round = 0; round < rounds; round++) {
    const order = shuffled(rows.length, random);
    const halves = [order.slice(0, order.length >> 1), order.slice(order.length >> 1)];
    for (const [fit, held] of [halves, [...halves].reverse()] as [number[], number[]][]) {
      const chosen = best(scored, rows, fit, target);
      seen += held.length;
      if (!chosen) continue;
      const s = scored.find(
        (x) =>
          x.threshold === chosen.threshold &&
          x.familiarity === chosen.familiarity &&
          x.copies === chosen.copies &&
          x.boundary === chosen.boundary,
      )!;
      const auto = held.filter((i) => s.answers[i] !== 'review');
      automated += auto.length;
      right += auto.filter((i) => s.answers[i] === rows[i]!.policyLabel).length;
    }
  }
  return { autoRate: automated / seen, autoPrecision: automated ? right / automated : 1 };
}

export async function tune(
  domain: DomainName,
  rows: TuningCase[],
  modelsDir = DEFAULT_MODELS_DIR,
  space: SearchSpace = {},
): Promise<{ scored: Scored[]; results: Result[] }> {
  const scored = await scoreSettings(domain, rows, modelsDir, space);
  const all = rows.map((_, i) => i);
  return { scored, results: scored.map((s) => measure(s, rows, all)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      precision: { type: 'string', default: '0.99' },
      write: { type: 'boolean', default: false },
      work: { type: 'string', default: 'models/.work' },
      cases: { type: 'string', multiple: true },
      // The boundary check scores every automated case 1 + 2 x (declared numbers) times: on the
      // shipped models p50 15-17 ms on this 2-core machine (bench:decision), above the 10 ms budget.
      'without-boundary': { type: 'boolean', default: false },
      // The consistency check scores every automated case 1 + copies times.
      'without-consistency': { type: 'boolean', default: false },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
    },
  });
  const target = Number(values.precision);
  for (const domain of (values.model ? [values.model] : ['loan', 'order']) as DomainName[]) {
    const sources = (values.cases ?? ['dev']).map((c) => c.replaceAll('{domain}', domain));
    const rows = sources.flatMap((source) =>
      source === 'dev'
        ? devCases(domain, values.work!)
        : readNaturalCases(source).map((c) => ({ vars: c.variables, policyLabel: c.label })),
    );
    const source = sources.map((s) => (s === 'dev' ? 'dev fold' : relative(process.cwd(), s))).join(' + ');
    const described = `cases of ${source}`;
    const { scored, results } = await tune(domain, rows, values['models-dir'], {
      boundaries: values['without-boundary'] ? [0] : BOUNDARY,
      copies: values['without-consistency'] ? [0] : COPIES,
    });
    for (const r of results) {
      console.log(
        `${domain} threshold=${r.threshold} familiarity=${r.familiarity ? `${r.familiarity.minWords}/${r.familiarity.minShare}` : 'off'} copies=${r.copies} boundary=${r.boundary} auto_rate=${r.autoRate.toFixed(4)} auto_precision=${r.autoPrecision.toFixed(4)} (${r.cases} ${described})`,
      );
    }
    const chosen = best(
      scored,
      rows,
      rows.map((_, i) => i),
      target,
    );
    const cv = crossValidate(scored, rows, target);
    console.log(
      chosen
        ? `${domain} best at precision >= ${target}: threshold=${chosen.threshold} familiarity=${JSON.stringify(chosen.familiarity)} copies=${chosen.copies} boundary=${chosen.boundary} auto_rate=${chosen.autoRate.toFixed(4)} auto_precision=${chosen.autoPrecision.toFixed(4)}`
        : `${domain}: no setting reaches precision ${target}`,
    );
    console.log(
      `${domain} chosen on one half, measured on the other (10 random halvings): auto_rate=${cv.autoRate.toFixed(4)} auto_precision=${cv.autoPrecision.toFixed(4)}`,
    );
    if (values.write && chosen) {
      const file = join(values['models-dir']!, domain, 'config.json');
      const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      config.threshold = chosen.threshold;
      if (chosen.familiarity) config.familiarity = chosen.familiarity;
      else delete config.familiarity;
      if (chosen.copies) config.consistency = { copies: chosen.copies };
      else delete config.consistency;
      if (chosen.boundary) config.boundary = { relative: chosen.boundary };
      else delete config.boundary;
      config.reviewTuning = {
        precisionTarget: target,
        source,
        cases: chosen.cases,
        autoRate: Number(chosen.autoRate.toFixed(4)),
        autoPrecision: Number(chosen.autoPrecision.toFixed(4)),
        crossValidated: {
          autoRate: Number(cv.autoRate.toFixed(4)),
          autoPrecision: Number(cv.autoPrecision.toFixed(4)),
        },
      };
      writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
      console.log(`wrote ${file}`);
    }
  }
  await DecisionAgent.closeAll();
}

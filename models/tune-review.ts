/**
 * `npm run models:tune-review` — chooses a shipped model's review settings on cases it was never
 * trained on: the validation cases whose text comes from the dev fold of the hand-written sentences
 * (models/.work/<domain>/val.jsonl, `handwritten: true`). For each combination of threshold,
 * unfamiliar-word rule and consistency copies it prints the automation rate and the precision of
 * automated answers; `--write` stores the combination that automates most at `--precision` or
 * better into models/<domain>/config.json. The natural test sets are not read: they stay a test.
 *
 * Usage: tsx models/tune-review.ts [--model loan|order] [--precision 0.99] [--write] [--work DIR]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DecisionAgent, DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import type { FamiliaritySettings } from '../nodes/decision/familiarity.ts';
import { answerOf, decideAll } from './checklist.ts';
import type { DomainName } from './data/domains.ts';

interface Setting {
  threshold: number;
  familiarity: FamiliaritySettings | null;
  copies: number;
}
interface Result extends Setting {
  cases: number;
  autoRate: number;
  autoPrecision: number;
}

const THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99];
const FAMILIARITY: (FamiliaritySettings | null)[] = [
  { minWords: 2, minShare: 0.2 },
  { minWords: 2, minShare: 0.34 },
  { minWords: 3, minShare: 0.5 },
];
const COPIES = [0, 3];

export async function tune(domain: DomainName, work: string, modelsDir = DEFAULT_MODELS_DIR): Promise<Result[]> {
  const rows = readFileSync(join(work, domain, 'val.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { vars: Record<string, unknown>; policyLabel: string; handwritten?: boolean })
    .filter((r) => r.handwritten);
  const agent = await DecisionAgent.load(domain, { modelsDir });
  const config = agent.model.config;
  const saved = { familiarity: config.familiarity, consistency: config.consistency, threshold: config.threshold };
  // Decided once at the lowest threshold (so the consistency check runs on every answer a tried
  // threshold could automate); each threshold is then applied to the confidences.
  config.threshold = Math.min(...THRESHOLDS);
  const results: Result[] = [];
  for (const familiarity of FAMILIARITY) {
    for (const copies of COPIES) {
      // Everything is decided once at threshold 0 with the setting's signals; thresholds are applied after.
      config.familiarity = familiarity ?? { minWords: 1e9, minShare: 2 };
      config.consistency = copies ? { copies } : undefined;
      const outcomes = await decideAll(
        agent,
        rows.map((r) => r.vars),
      );
      for (const threshold of THRESHOLDS) {
        const answers = outcomes
          .map((o) => (o.confidence !== undefined && o.confidence < threshold ? { ...o, needsReview: true } : o))
          .map(answerOf);
        const automated = answers.flatMap((a, i) => (a === 'review' ? [] : [i]));
        const right = automated.filter((i) => answers[i] === rows[i]!.policyLabel).length;
        results.push({
          threshold,
          familiarity,
          copies,
          cases: rows.length,
          autoRate: automated.length / rows.length,
          autoPrecision: automated.length ? right / automated.length : 1,
        });
      }
    }
  }
  Object.assign(config, saved);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      precision: { type: 'string', default: '0.99' },
      write: { type: 'boolean', default: false },
      work: { type: 'string', default: 'models/.work' },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
    },
  });
  const target = Number(values.precision);
  for (const domain of (values.model ? [values.model] : ['loan', 'order']) as DomainName[]) {
    const results = await tune(domain, values.work!, values['models-dir']);
    for (const r of results) {
      console.log(
        `${domain} threshold=${r.threshold} familiarity=${r.familiarity ? `${r.familiarity.minWords}/${r.familiarity.minShare}` : 'off'} copies=${r.copies} auto_rate=${r.autoRate.toFixed(4)} auto_precision=${r.autoPrecision.toFixed(4)} (${r.cases} dev cases)`,
      );
    }
    const ok = results
      .filter((r) => r.autoPrecision >= target)
      .sort((a, b) => b.autoRate - a.autoRate || b.threshold - a.threshold);
    const best = ok[0];
    console.log(
      best
        ? `${domain} best at precision >= ${target}: threshold=${best.threshold} familiarity=${JSON.stringify(best.familiarity)} copies=${best.copies} auto_rate=${best.autoRate.toFixed(4)} auto_precision=${best.autoPrecision.toFixed(4)}`
        : `${domain}: no setting reaches precision ${target}`,
    );
    if (values.write && best) {
      const file = join(values['models-dir']!, domain, 'config.json');
      const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      config.threshold = best.threshold;
      if (best.familiarity) config.familiarity = best.familiarity;
      else delete config.familiarity;
      if (best.copies) config.consistency = { copies: best.copies };
      else delete config.consistency;
      config.reviewTuning = {
        precisionTarget: target,
        devCases: best.cases,
        autoRate: Number(best.autoRate.toFixed(4)),
        autoPrecision: Number(best.autoPrecision.toFixed(4)),
      };
      writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
      console.log(`wrote ${file}`);
    }
  }
  await DecisionAgent.closeAll();
}

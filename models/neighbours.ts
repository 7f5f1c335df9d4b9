/**
 * The labelled texts of the nearest-texts check (config.json `neighbours`, nodes/decision/neighbours.ts):
 * writes a model folder's neighbours.jsonl from the train fold of its domain's hand-written texts
 * (models/data/handwritten/<domain>.jsonl; the dev fold stays out, so review tuning on it measures
 * the check on texts it does not hold) and `neighbours` into its config.json, with `never` from the
 * written policy (policyNever in models/data/policy.ts). Without --write it prints what it would
 * write.
 *
 * `--tune` chooses k and share on the dev fold (tuneNeighbours): each dev-fold text on the domain's
 * reference field sets, decided by the model without the check; the setting that sends the most
 * wrong automated answers to a person and none of the right ones.
 *
 * Usage: tsx models/neighbours.ts [--model loan|order] [--models-dir DIR] (--k N --share X | --tune) [--write]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_DIR, DecisionAgent } from '../nodes/decision/agent.ts';
import { neighboursError, TextNeighbours, type NeighbourSettings } from '../nodes/decision/neighbours.ts';
import type { DomainName } from './data/domains.ts';
import { handwrittenTexts } from './data/generate.ts';
import { policyLabel, TEXT_VARIABLE } from './data/perturb.ts';
import { answerOf, decideAll } from './checklist.ts';
import { writeConfigLine } from './config-line.ts';
import { policyGrounding, policyNever } from './data/policy.ts';

export const NEIGHBOURS_FILE = 'neighbours.jsonl';

/**
 * Field sets the dev-fold texts are put on when k and share are chosen: cases where the text
 * decides. Loan: three applicants who pass every limit (an ordinary purpose is approved, an
 * uncertain one reviewed, a forbidden one rejected), the first the grounding's `strong` reading. Order: a light parcel in stock, due in 72 h at
 * 150 km (an urgent note means courier) and at 450 km (it does not), due in 12 h, and a platinum
 * customer's at 600 km due in 40 h.
 */
const PARCEL = { weightKg: 5, stock: { leeds: 3, bristol: 2, glasgow: 0 } };
export const REFERENCE_FIELDS: Record<DomainName, Record<string, unknown>[]> = {
  loan: [
    policyGrounding('loan').readings.strong!,
    { income: 41000, debts: 9000, creditScore: 702, amount: 15000, termMonths: 48, employment: 'contract' },
    { income: 30000, debts: 15000, creditScore: 745, amount: 25000, termMonths: 36, employment: 'retired' },
  ],
  order: [
    { ...PARCEL, distanceKm: 150, deadlineHours: 72, customerTier: 'standard' },
    { ...PARCEL, distanceKm: 450, deadlineHours: 72, customerTier: 'standard' },
    { ...PARCEL, distanceKm: 150, deadlineHours: 12, customerTier: 'silver' },
    { ...PARCEL, distanceKm: 600, deadlineHours: 40, customerTier: 'platinum' },
  ],
};
/**
 * Each text on every reference field set of its domain, labelled by the written policy: cases
 * whose answer the text alone decides (the dev-fold tuning here, eval:model's contrast sets).
 */
export function onReferenceFields(
  domain: DomainName,
  texts: readonly { intent: string; text: string }[],
): { intent: string; text: string; vars: Record<string, unknown>; label: string }[] {
  return texts.flatMap(({ intent, text }) =>
    REFERENCE_FIELDS[domain].map((fields) => {
      const vars = { ...fields, [TEXT_VARIABLE[domain]]: text };
      return { intent, text, vars, label: policyLabel(domain, vars, intent) };
    }),
  );
}

export const TUNE_K = [5, 7, 9, 12, 15];
export const TUNE_SHARES = [0.5, 0.55, 0.6, 0.67, 0.75, 0.8];

export interface TuneRow {
  k: number;
  share: number;
  /** Wrong automated answers the setting sends to a person. */
  wrongCaught: number;
  /** Right automated answers it sends to a person. */
  rightLost: number;
}

/**
 * The dev-fold grid of k and share for a model folder (its `neighbours` ignored: the model's own
 * automated answers are measured), and the setting that catches the most wrong answers with no
 * right one lost (on a tie the smaller share, then the smaller k); null when none catches any.
 */
export async function tuneNeighbours(
  modelsDir: string,
  domain: DomainName,
): Promise<{ automated: number; wrong: number; grid: TuneRow[]; best: TuneRow | null }> {
  const work = mkdtempSync(join(tmpdir(), 'operon-neighbours-tune-'));
  try {
    cpSync(join(modelsDir, domain), join(work, domain), { recursive: true });
    const file = join(work, domain, 'config.json');
    // Without the unvouched-words check too, which reads the check's never table and would send
    // some of these answers to a person first: k and share are chosen on the model's answers alone.
    const { neighbours: _off, vouch: _vouch, ...config } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(config));
    const agent = await DecisionAgent.load(domain, { dir: join(work, domain) });
    const cases = onReferenceFields(
      domain,
      Object.entries(handwrittenTexts(domain, 'dev')).flatMap(([intent, texts]) =>
        texts.map((text) => ({ intent, text })),
      ),
    );
    const outcomes = await decideAll(
      agent,
      cases.map((c) => c.vars),
    );
    const automated = cases.flatMap((c, i) => {
      const answer = answerOf(outcomes[i]!);
      return answer === 'review' ? [] : [{ vars: c.vars, text: c.text, label: answer, right: answer === c.label }];
    });
    const grid: TuneRow[] = [];
    for (const k of TUNE_K) {
      const reader = new TextNeighbours(neighbourTexts(domain), {
        file: NEIGHBOURS_FILE,
        k,
        share: 1,
        never: policyNever(domain),
      });
      const shares = automated.map((a) => {
        const never = reader.ruledOut(a.label, a.vars);
        return { right: a.right, share: never.length ? reader.shareIn(a.text, never).share : 0 };
      });
      for (const share of TUNE_SHARES)
        grid.push({
          k,
          share,
          wrongCaught: shares.filter((x) => !x.right && x.share >= share).length,
          rightLost: shares.filter((x) => x.right && x.share >= share).length,
        });
    }
    const best =
      grid
        .filter((row) => row.rightLost === 0 && row.wrongCaught > 0)
        .sort((a, b) => b.wrongCaught - a.wrongCaught || a.share - b.share || a.k - b.k)[0] ?? null;
    return { automated: automated.length, wrong: automated.filter((a) => !a.right).length, grid, best };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The train fold's hand-written texts of `domain`, one `{ text, intent }` per line, in intent order. */
export function neighbourTexts(domain: DomainName): { text: string; intent: string }[] {
  return Object.entries(handwrittenTexts(domain, 'train')).flatMap(([intent, texts]) =>
    texts.map((text) => ({ text, intent })),
  );
}

/**
 * Writes neighbours.jsonl and `neighbours` into a model folder's config.json (writeConfigLine).
 */
export function writeNeighbours(
  modelsDir: string,
  domain: DomainName,
  k: number,
  share: number,
): { settings: NeighbourSettings; texts: number } {
  const dir = join(modelsDir, domain);
  const texts = neighbourTexts(domain);
  writeFileSync(join(dir, NEIGHBOURS_FILE), `${texts.map((t) => JSON.stringify(t)).join('\n')}\n`);
  const settings: NeighbourSettings = { file: NEIGHBOURS_FILE, k, share, never: policyNever(domain) };
  const file = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  const bad = neighboursError(settings, config.labels, config.inputs);
  if (bad) throw new Error(bad);
  writeConfigLine(file, 'neighbours', settings);
  return { settings, texts: texts.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
      k: { type: 'string' },
      share: { type: 'string' },
      tune: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
    },
  });
  if (values.tune === (values.k !== undefined || values.share !== undefined)) {
    console.error('give --k N and --share X, or --tune');
    process.exit(2);
  }
  for (const domain of (values.model ? [values.model] : ['loan', 'order']) as DomainName[]) {
    let k = Number(values.k);
    let share = Number(values.share);
    if (values.tune) {
      const tuned = await tuneNeighbours(values['models-dir']!, domain);
      console.log(`${domain} dev fold: ${tuned.automated} automated answers, ${tuned.wrong} wrong`);
      for (const row of tuned.grid)
        console.log(
          `${domain} k=${row.k} share=${row.share}: wrong caught ${row.wrongCaught}, right lost ${row.rightLost}`,
        );
      if (!tuned.best) {
        console.log(`${domain}: no setting catches a wrong answer without losing a right one; nothing written`);
        continue;
      }
      ({ k, share } = tuned.best);
      console.log(
        `${domain} best: k ${k}, share ${share} (${tuned.best.wrongCaught} of ${tuned.wrong} wrong caught, none right lost)`,
      );
    }
    if (values.write) {
      const { settings, texts } = writeNeighbours(values['models-dir']!, domain, k, share);
      console.log(`${domain}: ${texts} labelled texts and ${JSON.stringify(settings)} written`);
    } else {
      console.log(`${domain}: would write ${neighbourTexts(domain).length} labelled texts, k ${k}, share ${share}`);
    }
  }
  await DecisionAgent.closeAll();
}

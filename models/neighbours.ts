/**
 * The labelled texts of the nearest-texts check (config.json `neighbours`, nodes/decision/neighbours.ts):
 * writes a model folder's neighbours.jsonl from the train fold of its domain's hand-written texts
 * (models/data/handwritten/<domain>.jsonl; the dev fold stays out, so review tuning on it measures
 * the check on texts it does not hold) and `neighbours` into its config.json, with `never` from the
 * written policy (policyNever in models/data/policy.ts). Without --write it prints what it would
 * write.
 *
 * Usage: tsx models/neighbours.ts [--model loan|order] [--models-dir DIR] [--k N] [--share X] [--write]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import { neighboursError, type NeighbourSettings } from '../nodes/decision/neighbours.ts';
import type { DomainName } from './data/domains.ts';
import { handwrittenTexts } from './data/generate.ts';
import { writeConfigLine } from './decisive-words.ts';
import { policyNever } from './data/policy.ts';

/** The shipped reading: the 9 nearest texts, two thirds of their similarity. */
export const DEFAULT_K = 9;
export const DEFAULT_SHARE = 0.67;
export const NEIGHBOURS_FILE = 'neighbours.jsonl';

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
  k = DEFAULT_K,
  share = DEFAULT_SHARE,
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
      k: { type: 'string', default: String(DEFAULT_K) },
      share: { type: 'string', default: String(DEFAULT_SHARE) },
      write: { type: 'boolean', default: false },
    },
  });
  const k = Number(values.k);
  const share = Number(values.share);
  for (const domain of (values.model ? [values.model] : ['loan', 'order']) as DomainName[]) {
    if (values.write) {
      const { settings, texts } = writeNeighbours(values['models-dir']!, domain, k, share);
      console.log(`${domain}: ${texts} labelled texts and ${JSON.stringify(settings)} written`);
    } else {
      console.log(
        `${domain}: would write ${neighbourTexts(domain).length} labelled texts, k ${k}, share ${share}, never ${JSON.stringify(policyNever(domain))}`,
      );
    }
  }
}

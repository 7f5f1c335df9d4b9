/**
 * The words that decide a model's cases, for the misspelt-decision check (config.json
 * `decisiveWords`, nodes/decision/familiarity.ts): every word of six letters or more (`--min-letters`,
 * at least 5) in the model's lexicon.txt that the domain's decisive list names (models/data/perturb.ts `isDecisive`:
 * the words of the intents' slots, the policy's own words, negations, depots). Lexicon forms are
 * used, so "expedite" and "urgently" are there although the list names "expedit" and "urgent".
 *
 * Usage: tsx models/decisive-words.ts [--model loan|order] [--models-dir DIR] [--min-letters N] [--write]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import type { DomainName } from './data/domains.ts';
import { isDecisive } from './data/perturb.ts';
import { writeConfigLine } from './config-line.ts';

/** The shortest decisive word listed by default: one letter from "court" is "count". */
export const MIN_LETTERS = 6;

export function decisiveWordsOf(domain: DomainName, lexicon: string, minLetters = MIN_LETTERS): string[] {
  return lexicon
    .split('\n')
    .map((w) => w.trim())
    .filter((w) => /^[a-z]+$/.test(w) && w.length >= minLetters && isDecisive(w, domain))
    .sort();
}

/** Writes `decisiveWords` into a model folder's config.json from its lexicon.txt (writeConfigLine); returns the list. */
export function writeDecisiveWords(modelsDir: string, domain: DomainName, minLetters = MIN_LETTERS): string[] {
  const dir = join(modelsDir, domain);
  const words = decisiveWordsOf(domain, readFileSync(join(dir, 'lexicon.txt'), 'utf8'), minLetters);
  writeConfigLine(join(dir, 'config.json'), 'decisiveWords', words);
  return words;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
      'min-letters': { type: 'string', default: String(MIN_LETTERS) },
      write: { type: 'boolean', default: false },
    },
  });
  const minLetters = Number(values['min-letters']);
  if (!Number.isInteger(minLetters) || minLetters < 5) {
    console.error('--min-letters must be a whole number, 5 or more');
    process.exit(2);
  }
  for (const domain of (values.model ? [values.model] : ['loan', 'order']) as DomainName[]) {
    const words = values.write
      ? writeDecisiveWords(values['models-dir']!, domain, minLetters)
      : decisiveWordsOf(domain, readFileSync(join(values['models-dir']!, domain, 'lexicon.txt'), 'utf8'), minLetters);
    console.log(
      `${domain}: ${words.length} decisive words${values.write ? ' written' : ''}: ${words.slice(0, 30).join(' ')} ...`,
    );
  }
}

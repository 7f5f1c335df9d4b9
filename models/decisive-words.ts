/**
 * The words that decide a model's cases, for the misspelt-decision check (config.json
 * `decisiveWords`, nodes/decision/familiarity.ts): every word of six letters or more in the
 * model's lexicon.txt that the domain's decisive list names (models/data/perturb.ts `isDecisive`:
 * the words of the intents' slots, the policy's own words, negations, depots). Lexicon forms are
 * used, so "expedite" and "urgently" are there although the list names "expedit" and "urgent".
 *
 * Usage: tsx models/decisive-words.ts [--model loan|order] [--models-dir DIR] [--write]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import type { DomainName } from './data/domains.ts';
import { isDecisive } from './data/perturb.ts';

export function decisiveWordsOf(domain: DomainName, lexicon: string): string[] {
  return lexicon
    .split('\n')
    .map((w) => w.trim())
    .filter((w) => /^[a-z]{6,}$/.test(w) && isDecisive(w, domain))
    .sort();
}

/** Writes `decisiveWords` into a model folder's config.json from its lexicon.txt; returns the list. */
export function writeDecisiveWords(modelsDir: string, domain: DomainName): string[] {
  const dir = join(modelsDir, domain);
  const words = decisiveWordsOf(domain, readFileSync(join(dir, 'lexicon.txt'), 'utf8'));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.decisiveWords = words;
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return words;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
      write: { type: 'boolean', default: false },
    },
  });
  for (const domain of (values.model ? [values.model] : ['loan', 'order']) as DomainName[]) {
    const words = values.write
      ? writeDecisiveWords(values['models-dir']!, domain)
      : decisiveWordsOf(domain, readFileSync(join(values['models-dir']!, domain, 'lexicon.txt'), 'utf8'));
    console.log(
      `${domain}: ${words.length} decisive words${values.write ? ' written' : ''}: ${words.slice(0, 30).join(' ')} ...`,
    );
  }
}

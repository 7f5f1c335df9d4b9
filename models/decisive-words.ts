/**
 * The words that decide a model's cases, for the misspelt-decision check (config.json
 * `decisiveWords`, nodes/decision/familiarity.ts): every word of six letters or more (`--min-letters`,
 * at least 5) in the model's lexicon.txt that the domain's decisive list names (models/data/perturb.ts `isDecisive`:
 * the words of the intents' slots, the policy's own words, negations, depots). Lexicon forms are
 * used, so "expedite" and "urgently" are there although the list names "expedit" and "urgent".
 *
 * The folder's `typoWords` come with them: lexicon words one typo from a decisive word that are no
 * English word ("urgant", "urgnt", "gaurantor": a hand-written or perturbed training text held
 * them), which the runtime reads again spelt right as it does a word outside the lexicon. English
 * is WordNet's lemmas and exception forms (Debian wordnet-base, `WORDNET_DIR` elsewhere), with the
 * endings familiarity.ts knows, so "setting" stays "setting" and "getting" is not "betting".
 *
 * Usage: tsx models/decisive-words.ts [--model loan|order] [--models-dir DIR] [--min-letters N] [--write]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import type { DomainName } from './data/domains.ts';
import { isDecisive } from './data/perturb.ts';
import { writeConfigLine } from './config-line.ts';
import { oneEditApart } from '../nodes/decision/familiarity.ts';

/** The shortest decisive word listed by default: one letter from "court" is "count". */
export const MIN_LETTERS = 6;

export function decisiveWordsOf(domain: DomainName, lexicon: string, minLetters = MIN_LETTERS): string[] {
  return lexicon
    .split('\n')
    .map((w) => w.trim())
    .filter((w) => /^[a-z]+$/.test(w) && w.length >= minLetters && isDecisive(w, domain))
    .sort();
}

export const WORDNET_DIR = process.env.WORDNET_DIR ?? '/usr/share/wordnet';

/** WordNet's words, one word each (lemmas of the four index files and the inflected forms of the exception lists). */
export function wordnetWords(dir = WORDNET_DIR): Set<string> {
  if (!existsSync(join(dir, 'index.noun')))
    throw new Error(
      `no WordNet in ${dir}: install Debian's wordnet-base, or set WORDNET_DIR to a WordNet 3 dict folder`,
    );
  const words = new Set<string>();
  for (const part of ['noun', 'verb', 'adj', 'adv']) {
    for (const file of [`index.${part}`, `${part}.exc`])
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        const word = line.slice(0, line.indexOf(' '));
        if (/^[a-z']+$/.test(word)) words.add(word);
      }
  }
  return words;
}

/** English for this check: a WordNet word, or one with a regular ending ("fridays", "stopped", "staring", "parties"). */
export function isEnglish(word: string, english: ReadonlySet<string>): boolean {
  if (english.has(word)) return true;
  for (const end of ["'s", 's', 'es', 'ed', 'd', 'ing', 'er', 'ers', 'est', 'ly']) {
    if (!word.endsWith(end) || word.length - end.length < 2) continue;
    const stem = word.slice(0, -end.length);
    if (english.has(stem) || english.has(`${stem}e`)) return true;
    if (stem.length > 2 && stem.at(-1) === stem.at(-2) && english.has(stem.slice(0, -1))) return true; // stopped
    if (stem.endsWith('i') && english.has(`${stem.slice(0, -1)}y`)) return true; // parties, tried
  }
  return false;
}

/** The lexicon words one typo from a decisive word that are not English (isEnglish), sorted. */
export function typoWordsOf(lexicon: string, decisive: readonly string[], english: ReadonlySet<string>): string[] {
  const chosen = new Set(decisive);
  return lexicon
    .split('\n')
    .map((w) => w.trim())
    .filter(
      (w) =>
        /^[a-z']+$/.test(w) &&
        !chosen.has(w) &&
        decisive.some((meant) => oneEditApart(w, meant)) &&
        !isEnglish(w, english),
    )
    .sort();
}

/**
 * Writes `decisiveWords` and `typoWords` into a model folder's config.json from its lexicon.txt
 * (writeConfigLine); returns both lists.
 */
export function writeDecisiveWords(
  modelsDir: string,
  domain: DomainName,
  minLetters = MIN_LETTERS,
  english: ReadonlySet<string> = wordnetWords(),
): { words: string[]; typos: string[] } {
  const dir = join(modelsDir, domain);
  const lexicon = readFileSync(join(dir, 'lexicon.txt'), 'utf8');
  const words = decisiveWordsOf(domain, lexicon, minLetters);
  const typos = typoWordsOf(lexicon, words, english);
  writeConfigLine(join(dir, 'config.json'), 'decisiveWords', words);
  writeConfigLine(join(dir, 'config.json'), 'typoWords', typos);
  return { words, typos };
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
  const english = wordnetWords();
  for (const domain of (values.model ? [values.model] : ['loan', 'order']) as DomainName[]) {
    const { words, typos } = values.write
      ? writeDecisiveWords(values['models-dir']!, domain, minLetters, english)
      : (() => {
          const lexicon = readFileSync(join(values['models-dir']!, domain, 'lexicon.txt'), 'utf8');
          const words = decisiveWordsOf(domain, lexicon, minLetters);
          return { words, typos: typoWordsOf(lexicon, words, english) };
        })();
    console.log(
      `${domain}: ${words.length} decisive words${values.write ? ' written' : ''}: ${words.slice(0, 30).join(' ')} ...`,
    );
    console.log(`${domain}: ${typos.length} typo words: ${typos.join(' ')}`);
  }
}

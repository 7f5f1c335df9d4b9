/**
 * The word counts of the unvouched-words check (config.json `vouch`, nodes/decision/vouch.ts):
 * writes a model folder's words.tsv, per word of the domain's training texts (models/.work/<domain>/
 * train.jsonl from `npm run models:data`, regenerated from the seed when absent) the number of
 * training texts of each intent that hold it (and, with zero counts, the English words one typo
 * from a training word, from WordNet: Debian's wordnet-base or `WORDNET_DIR`), and `vouch` into its config.json with the domain's
 * settings from the written policy (policyVouch in models/data/policy.ts). Without --write it
 * prints what it would write. The counts must come from the data the folder's model was trained
 * on: a word the file vouches for and the model never saw in an ordinary text defeats the check.
 *
 * A domain whose policy sets no check (loan) is left as it is, so `npm run models:export` runs it for both.
 *
 * Usage: tsx models/vouch.ts [--model order] [--models-dir DIR] [--min N] [--without-english] [--write]
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import { textWords } from '../nodes/decision/familiarity.ts';
import { englishStems, oneTypo, vouchError, type VouchSettings } from '../nodes/decision/vouch.ts';
import type { DomainName } from './data/domains.ts';
import { defaultSplitFile } from './data/generate.ts';
import { TEXT_VARIABLE } from './data/perturb.ts';
import { policyVouch } from './data/policy.ts';
import { writeConfigLine } from './config-line.ts';
import { isEnglish, WORDNET_DIR, wordnetWords } from './decisive-words.ts';

export const WORDS_FILE = 'words.tsv';
export const ENGLISH_FILE = 'english.txt';

/** The training texts of a domain with their intents, from models/.work or regenerated from the seed. */
export function trainingTexts(domain: DomainName): { text: string; intent: string }[] {
  const variable = TEXT_VARIABLE[domain];
  return readFileSync(defaultSplitFile(domain, 'train'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const row = JSON.parse(line) as { vars: Record<string, unknown>; intent: string };
      return { text: String(row.vars[variable] ?? ''), intent: row.intent };
    });
}

/**
 * Each single English word of WordNet (lemmas of the four parts of speech and the inflected forms of
 * the exception lists, Debian's wordnet-base or `WORDNET_DIR`) with what its senses say: per sense,
 * the definition (the gloss without its quoted examples) and the synset's words. An inflected form
 * has the senses of its lemmas.
 */
export function wordnetSenses(dir = WORDNET_DIR): Map<string, string[]> {
  if (!existsSync(join(dir, 'index.noun')))
    throw new Error(
      `no WordNet in ${dir}: install Debian's wordnet-base, or set WORDNET_DIR to a WordNet 3 dict folder`,
    );
  const senses = new Map<string, string[]>();
  const parts = ['noun', 'verb', 'adj', 'adv'];
  for (const part of parts) {
    const data = readFileSync(join(dir, `data.${part}`));
    const sense = (offset: number) => {
      const line = data.subarray(offset, data.indexOf(10, offset)).toString('utf8');
      const bar = line.indexOf('|');
      const fields = line.slice(0, bar).split(' ');
      const words = Array.from({ length: Number.parseInt(fields[3]!, 16) }, (_, i) =>
        fields[4 + 2 * i]!.replace(/\(.*\)$/, '').replaceAll('_', ' '),
      );
      return `${words.join(' ')} | ${line
        .slice(bar + 1)
        .split('"')[0]!
        .trim()}`;
    };
    for (const line of readFileSync(join(dir, `index.${part}`), 'utf8').split('\n')) {
      if (!line || line.startsWith(' ')) continue;
      const fields = line.trim().split(' ');
      const lemma = fields[0]!;
      if (!/^[a-z']+$/.test(lemma)) continue;
      const offsets = fields.slice(6 + Number(fields[3])).map(Number);
      const list = senses.get(lemma) ?? [];
      list.push(...offsets.map(sense));
      senses.set(lemma, list);
    }
  }
  for (const part of parts)
    for (const line of readFileSync(join(dir, `${part}.exc`), 'utf8').split('\n')) {
      const [form, ...lemmas] = line.trim().split(' ');
      if (!form || !/^[a-z']+$/.test(form)) continue;
      const list = senses.get(form) ?? [];
      for (const lemma of lemmas) list.push(...(senses.get(lemma) ?? []));
      senses.set(form, list);
    }
  return senses;
}

/**
 * WordNet's words split by whether any sense uses a concept word (`concepts`, in any regular form:
 * englishStems) in its definition or synset: `bearing` may carry that meaning, `plain` has no
 * sense that does.
 */
export function conceptSplit(
  senses: ReadonlyMap<string, string[]>,
  concepts: readonly string[],
): { plain: Set<string>; bearing: Set<string> } {
  const wanted = new Set(concepts);
  const uses = (text: string) =>
    text
      .toLowerCase()
      .split(/[^a-z']+/)
      .some((token) => englishStems(token).some((stem) => wanted.has(stem)));
  const plain = new Set<string>();
  const bearing = new Set<string>();
  for (const [word, list] of senses) (list.some(uses) || wanted.has(word) ? bearing : plain).add(word);
  return { plain, bearing };
}

/**
 * The words file: a header `word` and the intents (sorted), then each word (sorted) with how many
 * texts of each intent hold it. With `english`, also the English words (isEnglish: WordNet's, with
 * regular endings) of four letters or more one typo from a training word of three or more that no
 * training text holds, each alone on its line: the check reads them as themselves, not as misspellings.
 * With `split` (conceptSplit), an English word that vouches (`plain`, through its regular endings)
 * is left to the English file instead, and every `bearing` word no training text holds is listed
 * alone, so that it is read as itself, not through a stem ("shortly" is not "short").
 */
export function wordCounts(
  texts: { text: string; intent: string }[],
  english: ReadonlySet<string> | null,
  split: { plain: ReadonlySet<string>; bearing: ReadonlySet<string> } | null = null,
): string {
  const intents = [...new Set(texts.map((t) => t.intent))].sort();
  const counts = new Map<string, number[]>();
  for (const { text, intent } of texts) {
    const i = intents.indexOf(intent);
    for (const word of new Set(textWords(text))) {
      let row = counts.get(word);
      if (!row) counts.set(word, (row = intents.map(() => 0)));
      row[i]!++;
    }
  }
  const vouchedAsEnglish = (word: string) =>
    split !== null && !split.bearing.has(word) && englishStems(word).some((stem) => split.plain.has(stem));
  // English words read as themselves, on a line of their own (no counts: none).
  const listed = new Set<string>();
  if (english)
    for (const word of counts.keys())
      if (word.length >= 3 && /^[a-z]+$/.test(word))
        for (const near of oneTypo(word))
          if (near.length >= 4 && !counts.has(near) && isEnglish(near, english) && !vouchedAsEnglish(near))
            listed.add(near);
  for (const word of split?.bearing ?? []) if (!counts.has(word)) listed.add(word);
  const lines = [...counts, ...[...listed].map((word): [string, number[]] => [word, []])]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([word, row]) => [word, ...row].join('\t'));
  return `${['word', ...intents].join('\t')}\n${lines.join('\n')}\n`;
}

/** The English file: the `plain` words no training text holds, sorted, one a line. */
export function englishList(texts: { text: string }[], plain: ReadonlySet<string>): string {
  const training = new Set(texts.flatMap(({ text }) => textWords(text)));
  return `${[...plain]
    .filter((word) => !training.has(word))
    .sort()
    .join('\n')}\n`;
}

/**
 * Writes words.tsv (and, unless `withoutEnglish`, english.txt from WordNet and the policy's
 * concepts) and `vouch` into a model folder's config.json (writeConfigLine).
 */
export function writeVouch(
  modelsDir: string,
  domain: DomainName,
  { min = 1, withoutEnglish = false }: { min?: number; withoutEnglish?: boolean } = {},
): { settings: VouchSettings; words: number; english: number } {
  const policy = policyVouch(domain);
  if (!policy) throw new Error(`the ${domain} policy sets no unvouched-words check (policyVouch)`);
  const { concepts, ...rest } = policy;
  const dir = join(modelsDir, domain);
  const texts = trainingTexts(domain);
  const split = withoutEnglish
    ? null
    : conceptSplit(
        wordnetSenses(),
        Object.values(rest.against)
          .flat()
          .flatMap((intent) => concepts[intent] ?? []),
      );
  const tsv = wordCounts(texts, wordnetWords(), split);
  const settings: VouchSettings = { file: WORDS_FILE, min, ...rest, ...(split ? { english: ENGLISH_FILE } : {}) };
  const file = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  const bad = vouchError(
    settings,
    config.labels,
    config.grounding ? Object.keys(config.grounding.readings) : null,
    !!config.neighbours,
  );
  if (bad) throw new Error(bad);
  writeFileSync(join(dir, WORDS_FILE), tsv);
  const english = split ? englishList(texts, split.plain) : '';
  if (split) writeFileSync(join(dir, ENGLISH_FILE), english);
  else rmSync(join(dir, ENGLISH_FILE), { force: true });
  writeConfigLine(file, 'vouch', settings);
  return { settings, words: tsv.split('\n').length - 2, english: english.split('\n').length - 1 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'order' },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
      min: { type: 'string', default: '1' },
      'without-english': { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
    },
  });
  const domain = values.model as DomainName;
  if (!policyVouch(domain)) {
    console.log(`${domain}: the written policy sets no unvouched-words check (policyVouch); nothing to write`);
  } else if (values.write) {
    const { settings, words, english } = writeVouch(values['models-dir']!, domain, {
      min: Number(values.min),
      withoutEnglish: values['without-english'],
    });
    console.log(
      `${domain}: ${words} words in ${WORDS_FILE}${settings.english ? `, ${english} in ${ENGLISH_FILE}` : ''}, vouch ${JSON.stringify(settings)}`,
    );
  } else {
    const texts = trainingTexts(domain);
    const tsv = wordCounts(texts, wordnetWords());
    console.log(
      `${domain}: ${texts.length} training texts, ${tsv.split('\n').length - 2} words; policy ${JSON.stringify(policyVouch(domain))}`,
    );
  }
}

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
 * Usage: tsx models/vouch.ts [--model order] [--models-dir DIR] [--min N] [--write]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import { textWords } from '../nodes/decision/familiarity.ts';
import { oneTypo, vouchError, type VouchSettings } from '../nodes/decision/vouch.ts';
import type { DomainName } from './data/domains.ts';
import { defaultSplitFile } from './data/generate.ts';
import { TEXT_VARIABLE } from './data/perturb.ts';
import { policyVouch } from './data/policy.ts';
import { writeConfigLine } from './config-line.ts';
import { isEnglish, wordnetWords } from './decisive-words.ts';

export const WORDS_FILE = 'words.tsv';

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
 * The words file: a header `word` and the intents (sorted), then each word (sorted) with how many
 * texts of each intent hold it. With `english`, also the English words (isEnglish: WordNet's, with
 * regular endings) of four letters or more one typo from a training word of three or more that no
 * training text holds, each alone on its line: the check reads them as themselves, not as misspellings.
 */
export function wordCounts(texts: { text: string; intent: string }[], english: ReadonlySet<string> | null): string {
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
  // The English words one typo from a training word, on a line of their own (no counts: none).
  const listed = new Set<string>();
  if (english)
    for (const word of counts.keys())
      if (word.length >= 3 && /^[a-z]+$/.test(word))
        for (const near of oneTypo(word))
          if (near.length >= 4 && !counts.has(near) && isEnglish(near, english)) listed.add(near);
  const lines = [...counts, ...[...listed].map((word): [string, number[]] => [word, []])]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([word, row]) => [word, ...row].join('\t'));
  return `${['word', ...intents].join('\t')}\n${lines.join('\n')}\n`;
}

/** Writes words.tsv and `vouch` into a model folder's config.json (writeConfigLine). */
export function writeVouch(modelsDir: string, domain: DomainName, min = 1): { settings: VouchSettings; words: number } {
  const policy = policyVouch(domain);
  if (!policy) throw new Error(`the ${domain} policy sets no unvouched-words check (policyVouch)`);
  const dir = join(modelsDir, domain);
  const tsv = wordCounts(trainingTexts(domain), wordnetWords());
  const settings: VouchSettings = { file: WORDS_FILE, min, ...policy };
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
  writeConfigLine(file, 'vouch', settings);
  return { settings, words: tsv.split('\n').length - 2 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'order' },
      'models-dir': { type: 'string', default: DEFAULT_MODELS_DIR },
      min: { type: 'string', default: '1' },
      write: { type: 'boolean', default: false },
    },
  });
  const domain = values.model as DomainName;
  if (!policyVouch(domain)) {
    console.log(`${domain}: the written policy sets no unvouched-words check (policyVouch); nothing to write`);
  } else if (values.write) {
    const { settings, words } = writeVouch(values['models-dir']!, domain, Number(values.min));
    console.log(`${domain}: ${words} words in ${WORDS_FILE}, vouch ${JSON.stringify(settings)}`);
  } else {
    const texts = trainingTexts(domain);
    const tsv = wordCounts(texts, wordnetWords());
    console.log(
      `${domain}: ${texts.length} training texts, ${tsv.split('\n').length - 2} words; policy ${JSON.stringify(policyVouch(domain))}`,
    );
  }
}

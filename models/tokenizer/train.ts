/**
 * `npm run models:tokenizer` — trains a byte-pair-encoding tokenizer on a domain's training corpus
 * (prompt + decision) and saves it as a HuggingFace tokenizer.json, then encodes every split to
 * token ids for the PyTorch side (models/.work/<domain>/<split>.ids.json), so Python and Node use
 * the very same tokenizer.
 *
 * Word splitting uses the `tokenizers` package's own normalizer and pre-tokenizers, so training
 * and encoding agree by construction.
 *
 * With `--byte-level`, one byte-level BPE (models/tokenizer/byte-level.ts) is trained on the
 * English corpus (WORK/corpus/english.txt, `npm run models:corpus`) plus both domains' training
 * prompts, saved as WORK/corpus/tokenizer.json, the corpus is encoded for pretraining
 * (WORK/corpus/english.ids.bin), and every domain's splits are encoded with that same tokenizer.
 *
 * With `--tokenizer FILE` (`{domain}` in the path is replaced by each domain's name, e.g.
 * `models/{domain}/tokenizer.json`) no tokenizer is trained: the splits are encoded with that one, so a
 * shipped model can be trained further on new data (train.py --init models/<domain>/weights.pt).
 * With `--corpus FILE` as well (and no `{domain}`), the corpus is encoded with that tokenizer to
 * WORK/corpus/english.ids.bin, so pretraining can go on from a committed checkpoint
 * (`pretrain.py --init models/pretrained/english.pt`).
 *
 * Usage: tsx models/tokenizer/train.ts [--work DIR] [--domain loan|order|all] [--vocab N] [--out DIR]
 *          [--byte-level [--corpus FILE]] [--tokenizer FILE [--corpus FILE]]
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Tokenizer,
  digitsPreTokenizer,
  lowercase,
  punctuationPreTokenizer,
  sequencePreTokenizer,
  whitespaceSplitPreTokenizer,
} from 'tokenizers';
import { DOMAINS, type DomainName } from '../data/domains.ts';
import { renderPrompt } from '../../nodes/decision/prompt.ts';
import { encodeCorpus, trainByteLevel, type EncodedCorpus } from './byte-level.ts';
import { SPECIAL_TOKENS } from './special-tokens.ts';

export { SPECIAL_TOKENS };
export const MAX_TEXT_CHARS = 400;

const normalizer = lowercase();
const preTokenizer = sequencePreTokenizer([
  whitespaceSplitPreTokenizer(),
  punctuationPreTokenizer('isolated'),
  digitsPreTokenizer(true),
]);

function words(text: string): string[] {
  return preTokenizer.preTokenizeString(normalizer.normalizeString(text)).map(([w]) => w);
}

/** Learns `vocabSize` tokens by repeatedly merging the most frequent adjacent pair (ties by name). */
export function trainBpe(texts: string[], vocabSize: number): { vocab: Record<string, number>; merges: string[] } {
  const counts = new Map<string, number>();
  for (const text of texts) for (const w of words(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const alphabet = new Set<string>('abcdefghijklmnopqrstuvwxyz0123456789.,:;!?\'"()-/&%£$€@#+*'.split(''));
  for (const w of counts.keys()) for (const ch of w) alphabet.add(ch);
  const vocab: Record<string, number> = {};
  for (const t of SPECIAL_TOKENS) vocab[t] = Object.keys(vocab).length;
  for (const ch of [...alphabet].sort()) vocab[ch] = Object.keys(vocab).length;
  const entries = [...counts.entries()].map(([w, n]) => ({ symbols: [...w], n }));
  const merges: string[] = [];
  while (Object.keys(vocab).length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, n } of entries)
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    let best: string | undefined;
    let bestN = 1;
    for (const [key, n] of pairs)
      if (n > bestN || (n === bestN && best !== undefined && key < best)) [best, bestN] = [key, n];
    if (!best) break;
    const [a, b] = best.split(' ') as [string, string];
    merges.push(best);
    vocab[a + b] ??= Object.keys(vocab).length;
    for (const entry of entries) {
      const out: string[] = [];
      for (let i = 0; i < entry.symbols.length; i++) {
        if (entry.symbols[i] === a && entry.symbols[i + 1] === b) out.push(a + b), i++;
        else out.push(entry.symbols[i]!);
      }
      entry.symbols = out;
    }
  }
  return { vocab, merges };
}

/** The tokenizer.json document (HuggingFace `tokenizers` format). */
export function tokenizerJson(vocab: Record<string, number>, merges: string[]): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'WhitespaceSplit' },
        { type: 'Punctuation', behavior: 'Isolated' },
        { type: 'Digits', individual_digits: true },
      ],
    },
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

interface Row {
  vars: Record<string, unknown>;
  label: string;
  policyLabel: string;
  textDependent: boolean;
  intent: string;
  rulesLabel: string;
  handwritten?: boolean;
}
const readJsonl = (file: string): Row[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);

const renderer = (domain: DomainName) => (row: Row) =>
  renderPrompt(DOMAINS[domain].template, row.vars, {
    textVariables: DOMAINS[domain].textVariables,
    maxTextChars: MAX_TEXT_CHARS,
  }).prompt;

/** A domain's training texts as the model reads them: each prompt followed by its decision. */
export function taskTexts(work: string, domain: DomainName): string[] {
  const render = renderer(domain);
  return [
    ...readJsonl(join(work, domain, 'train.jsonl')).map((r) => `${render(r)} ${r.label}`),
    ...DOMAINS[domain].verbalizers,
  ];
}

export interface BuildTokenizerOptions {
  /** Use this tokenizer.json (e.g. the shared byte-level one) instead of training a word-level BPE. */
  tokenizerFile?: string;
}

/**
 * Writes OUT/tokenizer.json (a word-level BPE learned from the domain's training prompts, or a copy
 * of `tokenizerFile`) and encodes every split of WORK/DOMAIN with it.
 */
export async function buildTokenizer(
  work: string,
  domain: DomainName,
  vocabSize: number,
  outDir: string,
  options: BuildTokenizerOptions = {},
): Promise<void> {
  const spec = DOMAINS[domain];
  const dir = join(work, domain);
  const render = renderer(domain);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'tokenizer.json');
  if (options.tokenizerFile) {
    if (options.tokenizerFile !== file) copyFileSync(options.tokenizerFile, file);
  } else {
    const { vocab, merges } = trainBpe(taskTexts(work, domain), vocabSize);
    writeFileSync(file, JSON.stringify(tokenizerJson(vocab, merges)));
  }
  const tokenizer = Tokenizer.fromFile(file);
  const verbalizerIds: number[] = [];
  for (const v of spec.verbalizers) {
    const ids = (await tokenizer.encode(` ${v}`)).getIds();
    if (ids.length !== 1) throw new Error(`verbalizer '${v}' is ${ids.length} tokens; raise the vocabulary size`);
    verbalizerIds.push(ids[0]!);
  }
  const suffixTokens = (await tokenizer.encode(spec.template.slice(spec.template.lastIndexOf('}') + 1))).getIds()
    .length;
  const withoutText = (row: Row) =>
    render({ ...row, vars: { ...row.vars, ...Object.fromEntries(spec.textVariables.map((v) => [v, ''])) } });
  for (const split of ['train', 'val', 'test', 'shifted']) {
    const rows = readJsonl(join(dir, `${split}.jsonl`));
    const encodings = await tokenizer.encodeBatch(rows.map(render));
    const bare = await tokenizer.encodeBatch(rows.map(withoutText));
    const out = rows.map((row, i) => ({
      ids: encodings[i]!.getIds(),
      // Where the free text sits in `ids` (training may corrupt tokens there, never the fields).
      text: [bare[i]!.getIds().length - suffixTokens, encodings[i]!.getIds().length - suffixTokens],
      label: spec.labels.indexOf(row.label),
      policy: spec.labels.indexOf(row.policyLabel),
      rules: spec.labels.indexOf(row.rulesLabel),
      textDependent: row.textDependent,
      // A hand-written sentence: export.py picks the review threshold on these.
      handwritten: row.handwritten === true,
    }));
    writeFileSync(join(dir, `${split}.ids.json`), JSON.stringify(out));
  }
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ ...spec, maxTextChars: MAX_TEXT_CHARS }, null, 2));
  // Content-free inputs (Zhao et al. 2021): the template with every placeholder blank or "n/a".
  const contentFree = await tokenizer.encodeBatch(
    ['n/a', ''].map((filler) => spec.template.replace(/\{[^}]+\}/g, filler)),
  );
  writeFileSync(
    join(dir, 'tokens.json'),
    JSON.stringify(
      {
        vocabSize: tokenizer.getVocabSize(true),
        padId: 0,
        unkId: 1,
        eosId: 2,
        verbalizerIds,
        labels: spec.labels,
        contentFreeIds: contentFree.map((e) => e.getIds()),
      },
      null,
      2,
    ),
  );
}

export interface ByteLevelBuild {
  tokenizerFile: string;
  /** Present when a corpus was given: its encoding for pretraining. */
  corpus?: EncodedCorpus;
}

/**
 * Trains the shared byte-level BPE on `corpusFile` (optional) plus the domains' training texts,
 * saves it as OUTDIR/tokenizer.json and, with a corpus, encodes it to OUTDIR/english.ids.bin.
 * Every domain's verbalizers are single tokens.
 */
export async function buildByteLevel(
  work: string,
  domains: DomainName[],
  vocabSize: number,
  outDir: string,
  corpusFile?: string,
): Promise<ByteLevelBuild> {
  mkdirSync(outDir, { recursive: true });
  const taskFile = join(outDir, 'task.txt');
  writeFileSync(taskFile, domains.flatMap((d) => taskTexts(work, d)).join('\n'));
  const singleTokens = domains.flatMap((d) => DOMAINS[d].verbalizers.map((v) => ` ${v}`));
  const json = await trainByteLevel({
    files: corpusFile ? [corpusFile, taskFile] : [taskFile],
    vocabSize,
    singleTokens,
  });
  const tokenizerFile = join(outDir, 'tokenizer.json');
  writeFileSync(tokenizerFile, JSON.stringify(json));
  const corpus = corpusFile
    ? await encodeCorpus(tokenizerFile, corpusFile, join(outDir, 'english.ids.bin'))
    : undefined;
  return { tokenizerFile, corpus };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      work: { type: 'string', default: 'models/.work' },
      domain: { type: 'string', default: 'all' },
      vocab: { type: 'string' },
      out: { type: 'string' },
      'byte-level': { type: 'boolean', default: false },
      corpus: { type: 'string' },
      tokenizer: { type: 'string' },
    },
  });
  const work = values.work!;
  const domains: DomainName[] = values.domain === 'all' ? ['loan', 'order'] : [values.domain as DomainName];
  let tokenizerFile: string | undefined;
  if (values['byte-level']) {
    const corpusFile = values.corpus ?? join(work, 'corpus', 'english.txt');
    if (!existsSync(corpusFile)) throw new Error(`${corpusFile} is missing: run npm run models:corpus first`);
    const built = await buildByteLevel(work, domains, Number(values.vocab ?? 4096), join(work, 'corpus'), corpusFile);
    tokenizerFile = built.tokenizerFile;
    console.log(
      `byte-level tokenizer -> ${tokenizerFile}; corpus: ${built.corpus!.tokens} tokens in ${built.corpus!.documents} documents`,
    );
  } else if (values.corpus) {
    if (!values.tokenizer || values.tokenizer.includes('{domain}'))
      throw new Error(
        '--corpus without --byte-level needs --tokenizer FILE: the one tokenizer to encode the corpus with',
      );
    mkdirSync(join(work, 'corpus'), { recursive: true });
    const encoded = await encodeCorpus(values.tokenizer, values.corpus, join(work, 'corpus', 'english.ids.bin'));
    console.log(`corpus: ${encoded.tokens} tokens in ${encoded.documents} documents, encoded with ${values.tokenizer}`);
  }
  for (const domain of domains) {
    const out = values.out ?? join(work, domain);
    const given = values.tokenizer?.replaceAll('{domain}', domain);
    await buildTokenizer(work, domain, Number(values.vocab ?? 1024), out, { tokenizerFile: given ?? tokenizerFile });
    console.log(`${domain}: tokenizer.json -> ${out}`);
  }
}

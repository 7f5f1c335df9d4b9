/**
 * Byte-level BPE (the GPT-2 scheme): text is split GPT-2-style, each word's UTF-8 bytes are
 * mapped to 256 printable symbols, and merges are learned over those. Every byte is in the
 * vocabulary, so typos, brand names and emoji become several known tokens, never `<unk>`.
 * Digits are then split one per token (after the byte mapping: splitting first would give every
 * digit its own word-start marker), so 52000 and 52500 share their tokens and the model can
 * learn magnitudes instead of memorizing chunks.
 *
 * The `tokenizers` package trains with its default trainer only (30,000 tokens), so we train
 * with it and keep the first merges: BPE learns merges in order, so a prefix of the list is
 * itself the tokenizer a smaller vocabulary would have learned.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BPE,
  Tokenizer,
  byteLevelAlphabet,
  byteLevelPreTokenizer,
  digitsPreTokenizer,
  lowercase,
  nfkcNormalizer,
  sequenceNormalizer,
  sequencePreTokenizer,
} from 'tokenizers';
import { SPECIAL_TOKENS } from './special-tokens.ts';

export interface ByteLevelOptions {
  /** Text files to learn from. */
  files: string[];
  /** Target vocabulary: special tokens + 256 bytes + merges. */
  vocabSize: number;
  /** Words that must each be one token (the label verbalizers, with their leading space). */
  singleTokens?: string[];
}

/** The tokenizer.json document of a byte-level BPE with these merges (lowercased, NFKC). */
export function byteLevelJson(vocab: Record<string, number>, merges: [string, string][]): object {
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
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        { type: 'Digits', individual_digits: true },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

function learnedMerges(files: string[]): [string, string][] {
  const tokenizer = new Tokenizer(BPE.empty());
  tokenizer.setNormalizer(sequenceNormalizer([nfkcNormalizer(), lowercase()]));
  tokenizer.setPreTokenizer(sequencePreTokenizer([byteLevelPreTokenizer(true, true), digitsPreTokenizer(true)]));
  tokenizer.train(files);
  const dir = mkdtempSync(join(tmpdir(), 'operon-bpe-'));
  try {
    tokenizer.save(join(dir, 'tokenizer.json'));
    const { model } = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as {
      model: { merges: ([string, string] | string)[] };
    };
    return model.merges.map((m) => (typeof m === 'string' ? (m.split(' ') as [string, string]) : m));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Trains a byte-level BPE on `files` and returns its tokenizer.json document. */
export async function trainByteLevel({ files, vocabSize, singleTokens = [] }: ByteLevelOptions): Promise<object> {
  const vocab: Record<string, number> = {};
  const add = (token: string) => (vocab[token] ??= Object.keys(vocab).length);
  for (const token of SPECIAL_TOKENS) add(token);
  for (const symbol of [...byteLevelAlphabet()].sort()) add(symbol);
  const merges: [string, string][] = [];
  for (const [a, b] of learnedMerges(files)) {
    if (Object.keys(vocab).length >= vocabSize) break;
    if (vocab[a + b] !== undefined) continue;
    merges.push([a, b]);
    add(a + b);
  }
  // A word that is still several tokens gets merges of its own, appended after the learned ones.
  for (const word of singleTokens) {
    const tokenizer = Tokenizer.fromString(JSON.stringify(byteLevelJson(vocab, merges)));
    const pieces = (await tokenizer.encode(word)).getTokens();
    while (pieces.length > 1) {
      const [a, b] = pieces.splice(0, 2) as [string, string];
      merges.push([a, b]);
      add(a + b);
      pieces.unshift(a + b);
    }
  }
  return byteLevelJson(vocab, merges);
}

/** What english.ids.json says about english.ids.bin. */
export interface EncodedCorpus {
  tokens: number;
  documents: number;
  vocabSize: number;
  eosId: number;
  dtype: 'uint16';
  tokenizerSha256: string;
  corpusSha256: string;
}

/**
 * Encodes a one-document-per-line corpus to token ids (uint16, little-endian), `<eos>` after each
 * document, for causal-LM pretraining (models/gpt/pretrain.py).
 */
export async function encodeCorpus(tokenizerFile: string, corpusFile: string, outFile: string): Promise<EncodedCorpus> {
  const tokenizer = Tokenizer.fromFile(tokenizerFile);
  const vocabSize = tokenizer.getVocabSize(true);
  if (vocabSize > 65536) throw new Error(`vocabulary of ${vocabSize} does not fit uint16 ids`);
  const eosId = SPECIAL_TOKENS.indexOf('<eos>');
  const text = readFileSync(corpusFile, 'utf8');
  const lines = text.split('\n').filter(Boolean);
  const chunks: Uint16Array[] = [];
  let tokens = 0;
  for (let i = 0; i < lines.length; i += 4096) {
    const encodings = await tokenizer.encodeBatch(lines.slice(i, i + 4096));
    const size = encodings.reduce((n, e) => n + e.getLength() + 1, 0);
    const chunk = new Uint16Array(size);
    let k = 0;
    for (const e of encodings) {
      chunk.set(e.getIds(), k);
      k += e.getLength();
      chunk[k++] = eosId;
    }
    chunks.push(chunk);
    tokens += size;
  }
  const buffer = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
  writeFileSync(outFile, buffer);
  const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  const meta: EncodedCorpus = {
    tokens,
    documents: lines.length,
    vocabSize,
    eosId,
    dtype: 'uint16',
    tokenizerSha256: sha(readFileSync(tokenizerFile)),
    corpusSha256: sha(text),
  };
  writeFileSync(outFile.replace(/\.bin$/, '.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

/**
 * Pretraining on English, on a few KB of the real corpus (test/fixtures/english, laid out as the
 * Debian packages install it): corpus builder -> byte-level BPE -> causal-LM pretraining (a few
 * steps) -> task fine-tune from that checkpoint (one process and torchrun DDP) -> ONNX export that
 * the Node runtime scores; and the committed English checkpoint (models/pretrained) against its
 * tokenizer and the corpus manifest.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { buildCorpus, type CorpusManifest } from '../../models/corpus/build.ts';
import { cleanDocuments, dedupKey, normalizeDocument } from '../../models/corpus/normalize.ts';
import { ENGLISH_SOURCES, readGcide } from '../../models/corpus/sources.ts';
import { generate } from '../../models/data/generate.ts';
import { buildByteLevel, buildTokenizer } from '../../models/tokenizer/train.ts';
import { continuedNote, ensembleNote, pretrainingNote } from '../../models/card.ts';
import { loadDecisionModel } from '../../nodes/decision/model.ts';
import { BatchingClassifier } from '../../nodes/decision/classifier.ts';
import { renderPrompt } from '../../nodes/decision/prompt.ts';
import { PYTHON, hasTorch, python, tinyCorpus, tinyTrainArgs } from './tiny-corpus.ts';

const FIXTURE_ROOT = 'test/fixtures/english';
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
/** The sources restricted to the files the fixture holds. */
const fixtureSources = ENGLISH_SOURCES.map((s) => ({
  ...s,
  files: s.files.filter((f) => existsSync(join(FIXTURE_ROOT, f))),
}));
const torchAvailable = await hasTorch();

let work: string;
let manifest: CorpusManifest;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'operon-pretrain-'));
  const versionOf = (pkg: string) => `fixture-${pkg}`;
  manifest = buildCorpus({ root: FIXTURE_ROOT, outDir: join(work, 'corpus'), sources: fixtureSources, versionOf });
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('English corpus builder', () => {
  test('normalization gives one plain line; deduplication ignores case, spacing and punctuation', () => {
    const typographic = '  \u201cIt\u2019s  late\u201d \u2014 she said\u2026\n\tand left.\u0007 ';
    assert.equal(normalizeDocument(typographic), '"It\'s late" - she said... and left.');
    const seen = new Set<string>();
    const kept = cleanDocuments(
      ['A bank lends money.', 'a BANK lends money!', 'a  bank\nlends money', 'ok', '|||--- ### ---|||'],
      seen,
    );
    assert.deepEqual(kept, ['A bank lends money.'], 'duplicates, a two-word line and ASCII art are dropped');
    assert.deepEqual(cleanDocuments(['A bank lends money'], seen), [], 'a later source cannot repeat an earlier one');
  });

  test('the GCIDE reader keeps definitions and drops headwords, etymologies and source tags', () => {
    const entry = [
      'Bank \\Bank\\, n. [Prob. fr. F. banc. Of German',
      '   origin.]',
      '   1. A mound of earth; as, a {bank} of clouds.',
      '      [1913 Webster]',
      '',
    ].join('\n');
    const documents = readGcide(`00-database-info\n   This file was converted\n\n${entry}`);
    assert.deepEqual(documents, ['1. A mound of earth; as, a bank of clouds.']);
  });

  test('english.txt holds one unique document per line, and the manifest hashes match the text', () => {
    const text = readFileSync(join(work, 'corpus', 'english.txt'), 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.deepEqual(
      manifest.sources.map((s) => s.name),
      ['wordnet', 'gcide', 'fortunes'],
    );
    assert.equal(manifest.total.documents, lines.length);
    assert.equal(new Set(lines.map(dedupKey)).size, lines.length);
    assert.equal(manifest.total.sha256, sha256(text));
    assert.equal(manifest.total.bytes, Buffer.byteLength(text));
    let offset = 0;
    for (const source of manifest.sources) {
      assert.ok(source.documents > 0, `${source.name} gave documents`);
      assert.equal(source.version, `fixture-${source.package}`);
      assert.match(source.licence, /WordNet|GPL|BSD/);
      const own = lines
        .slice(offset, offset + source.documents)
        .map((l) => `${l}\n`)
        .join('');
      assert.equal(source.sha256, sha256(own), `${source.name} hash covers its own lines`);
      assert.equal(source.bytes, Buffer.byteLength(own));
      offset += source.documents;
    }
    assert.ok(
      lines.some((l) => l.startsWith('1. A mound, pile, or ridge of earth')),
      'GCIDE definitions are in',
    );
    assert.ok(!text.includes('[1913 Webster]') && !text.includes('\\Bank\\'));
  });

  test('a missing package is named with its apt-get command', () => {
    const build = () => buildCorpus({ root: join(work, 'nowhere'), outDir: join(work, 'none'), versionOf: () => 'x' });
    assert.throws(build, /apt-get install -y wordnet-base/);
  });
});

const skip = torchAvailable ? false : 'needs /usr/bin/python3 with torch and onnx';

describe('pretraining on English, then fine-tuning', { skip }, () => {
  const pretrained = () => join(work, 'corpus', 'pretrained.pt');
  const PRETRAIN = [
    'nLayer=2',
    'nHead=2',
    'dModel=32',
    'maxLen=32',
    'batchSize=8',
    'lr=0.003',
    'warmup=2',
    'valShare=0.1',
    'evalBatches=2',
  ]
    .concat('threads=1')
    .flatMap((setting) => ['--set', setting]);
  /** pretrain.py on the fixture corpus with the tiny settings, then `args`. */
  const pretrain = (args: string[]) =>
    python(['models/gpt/pretrain.py', '--corpus', join(work, 'corpus'), ...PRETRAIN, ...args]);

  before(async () => {
    generate({
      out: work,
      seed: 5,
      sizes: { train: 300, val: 32, test: 8, shifted: 8 },
      noise: 0.02,
      domains: ['order'],
    });
    const { tokenizerFile } = await buildByteLevel(
      work,
      ['order'],
      600,
      join(work, 'corpus'),
      join(work, 'corpus', 'english.txt'),
    );
    await buildTokenizer(work, 'order', 0, join(work, 'order'), { tokenizerFile });
  });

  test('the byte-level tokenizer knows every byte: typos and emoji never become <unk>, labels are one token', async () => {
    const tokenizer = Tokenizer.fromFile(join(work, 'corpus', 'tokenizer.json'));
    const ids = (await tokenizer.encode('Deliver to the wherehouse ASAP 🚚, naïve café')).getIds();
    assert.ok(!ids.includes(1), 'no <unk>');
    assert.equal(await tokenizer.decode(ids, true), ' deliver to the wherehouse asap 🚚, naïve café');
    const pieces = (await tokenizer.encode('within 18 hours')).getTokens();
    assert.deepEqual(
      pieces.slice(pieces.indexOf('1') - 1, pieces.indexOf('1') + 2),
      ['Ġ', '1', '8'],
      'one token per digit',
    );
    for (const word of [' warehouse', ' courier', ' pickup'])
      assert.equal((await tokenizer.encode(word)).getIds().length, 1, word);
    const meta = JSON.parse(readFileSync(join(work, 'corpus', 'english.ids.json'), 'utf8'));
    assert.equal(statSync(join(work, 'corpus', 'english.ids.bin')).size, 2 * meta.tokens);
    assert.equal(meta.documents, manifest.total.documents);
    const taskTokenizer = readFileSync(join(work, 'order', 'tokenizer.json'));
    assert.equal(meta.tokenizerSha256, sha256(taskTokenizer), 'the task data uses the same tokenizer');
  });

  test('pretraining runs: the loss is finite and falls, and the checkpoint is saved', async () => {
    const metricsFile = join(work, 'pretrain.json');
    await pretrain([
      '--set',
      'steps=12',
      '--set',
      'evalEvery=6',
      '--device',
      'cpu',
      '--out',
      pretrained(),
      '--metrics',
      metricsFile,
    ]);
    const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));
    assert.equal(metrics.step, 12);
    assert.equal(metrics.losses.length, 12);
    assert.ok(metrics.losses.every(Number.isFinite) && Number.isFinite(metrics.val_loss));
    const mean = (xs: number[]) => xs.reduce((a: number, b: number) => a + b, 0) / xs.length;
    assert.ok(mean(metrics.losses.slice(-3)) < mean(metrics.losses.slice(0, 3)), `losses ${metrics.losses.join(' ')}`);
    assert.ok(existsSync(pretrained()));
  });

  test('pretraining goes on from a checkpoint: its shape is kept and the tokens seen add up', async () => {
    const metricsFile = join(work, 'pretrain-more.json');
    const more = join(work, 'corpus', 'pretrained-more.pt');
    await pretrain([
      '--set',
      'dModel=48',
      '--set',
      'steps=3',
      '--device',
      'cpu',
      '--init',
      pretrained(),
      '--out',
      more,
      '--metrics',
      metricsFile,
    ]);
    const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));
    const read = (file: string) =>
      JSON.parse(
        execFileSync(PYTHON, [
          '-c',
          'import json, sys, torch; c = torch.load(sys.argv[1]); e = c.get("earlier"); ' +
            'print(json.dumps({"shape": c["model_config"], "seen": c["tokens_seen"], "earlier": e and {"seen": e["tokens_seen"], "steps": e["pretrain_config"]["steps"]}}))',
          file,
        ]).toString(),
      );
    const first = read(pretrained());
    const second = read(more);
    assert.deepEqual(second.shape, first.shape, 'the checkpoint shape wins over --set dModel=48');
    assert.equal(second.seen, first.seen + 3 * 8 * 32, '3 more steps of 8 windows of 32 tokens');
    assert.equal(metrics.tokens_seen, second.seen);
    assert.deepEqual(second.earlier, { seen: first.seen, steps: 12 }, 'the earlier run is recorded');
  });

  test('going on from a checkpoint refuses a corpus encoded with another tokenizer', async () => {
    await assert.rejects(
      pretrain(['--set', 'steps=1', '--init', 'models/pretrained/english.pt', '--out', join(work, 'refused.pt')]),
      /the corpus was encoded with another tokenizer than models\/pretrained\/english.pt was pretrained with/,
    );
    assert.ok(!existsSync(join(work, 'refused.pt')));
  });

  test('models:tokenizer --corpus --tokenizer encodes the corpus with a given tokenizer, as --byte-level did', async () => {
    const bin = join(work, 'corpus', 'english.ids.bin');
    const before = readFileSync(bin);
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'models/tokenizer/train.ts',
        '--work',
        work,
        '--domain',
        'order',
        '--corpus',
        join(work, 'corpus', 'english.txt'),
        '--tokenizer',
        join(work, 'corpus', 'tokenizer.json'),
        '--out',
        join(work, 'order-again'),
      ],
      { encoding: 'utf8' },
    );
    assert.match(out, /corpus: \d+ tokens in \d+ documents, encoded with /);
    assert.ok(readFileSync(bin).equals(before), 'the same ids, byte for byte');
  });

  test('fine-tuning starts from the pretrained checkpoint and exports ONNX that Node scores like PyTorch', async () => {
    const checkpoint = join(work, 'order', 'checkpoints', 'model.pt');
    const metricsFile = join(work, 'fine.json');
    // TINY_MODEL asks for maxLen 96: the 32 pretrained positions are kept and extended.
    await python(tinyTrainArgs(work, 4, ['--init', pretrained(), '--metrics', metricsFile]));
    const fine = JSON.parse(readFileSync(metricsFile, 'utf8'));
    const modelDir = join(work, 'model');
    await python([
      'models/gpt/export.py',
      '--work',
      work,
      '--domain',
      'order',
      '--out',
      modelDir,
      '--version',
      'pretrained-tiny',
    ]);
    const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    assert.equal(config.architecture.max_len, 96);
    assert.equal(config.architecture.d_model, 32);
    assert.equal(
      config.pretraining.corpus_sha256,
      manifest.total.sha256,
      'the exported config names the corpus it was pretrained on',
    );
    assert.equal(config.parameters, fine.params);
    const note = pretrainingNote(config.pretraining);
    assert.match(note, new RegExp(`${manifest.total.sha256}\`, a corpus other than models/corpus/manifest.json`));
    assert.match(pretrainingNote(undefined), /^No English pretraining/);
    // The card says the task run started from the English checkpoint, not from a shipped model.
    assert.equal(config.training.continuedFrom.kind, 'pretrained');
    assert.match(
      continuedNote(config.training.continuedFrom),
      /^The task run started from the English checkpoint above/,
    );
    const member = { temperature: 1, parameters: config.parameters, training: config.training };
    assert.match(
      ensembleNote({ combine: 'mean', members: [member, member] }),
      /member 2: the same shape started from the same English checkpoint \(/,
    );

    const ids = join(work, 'order', 'val.ids.json');
    const reference = JSON.parse(
      await python(['models/gpt/logits.py', '--checkpoint', checkpoint, '--ids', ids, '--limit', '4']),
    );
    const model = await loadDecisionModel(modelDir, 'order');
    const rows = readFileSync(join(work, 'order', 'val.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 4)
      .map((l) => JSON.parse(l));
    const { template, textVariables, maxTextChars } = model.config;
    const prompts = rows.map((row) => renderPrompt(template, row.vars, { textVariables, maxTextChars }).prompt);
    const scored = await new BatchingClassifier(model).run(prompts, { fullLogits: true });
    for (const [i, row] of scored.entries()) {
      assert.equal(row.labelLogits.length, 3);
      for (const [k, z] of row.logits!.entries())
        assert.ok(Math.abs(z - reference[i]!.logits[k]!) <= 1e-4, `prompt ${i} token ${k}`);
    }
    await model.session.close();
  });

  test('torchrun DDP (2 gloo processes) fine-tunes from the pretrained checkpoint', async () => {
    const metricsFile = join(work, 'ddp.json');
    await python([
      // --redirects/--tee 2: torch 1.13's launcher mis-parses its default "0" under Python 3.11.
      '-m',
      'torch.distributed.run',
      '--standalone',
      '--nproc_per_node=2',
      '--redirects',
      '2',
      '--tee',
      '2',
      ...tinyTrainArgs(work, 2, ['--init', pretrained(), '--out', join(work, 'ddp.pt'), '--metrics', metricsFile]),
    ]);
    const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));
    assert.equal(metrics.world_size, 2);
    assert.ok(existsSync(join(work, 'ddp.pt')));
  });

  test('fine-tuning refuses task data encoded with another tokenizer', async () => {
    const other = await tinyCorpus('order');
    try {
      await assert.rejects(
        python(tinyTrainArgs(other.work, 1, ['--init', pretrained()])),
        /not the tokenizer the checkpoint was pretrained with/,
      );
    } finally {
      other.cleanup();
    }
  });
});

describe('the committed English checkpoint (models/pretrained)', { skip }, () => {
  const CHECKPOINT = 'models/pretrained/english.pt';
  const TOKENIZER = 'models/pretrained/tokenizer.json';

  test('names the committed tokenizer and corpus, and a task run fine-tunes from it', async () => {
    const meta = JSON.parse(
      await python([
        '-c',
        'import json, sys, torch; c = torch.load(sys.argv[1]); ' +
          "print(json.dumps({k: c[k] for k in ('kind', 'model_config', 'tokenizer_sha256', 'corpus_sha256', 'tokens_seen')}))",
        CHECKPOINT,
      ]),
    );
    const corpus = JSON.parse(readFileSync('models/corpus/manifest.json', 'utf8')) as CorpusManifest;
    assert.equal(meta.kind, 'pretrained');
    assert.equal(
      meta.tokenizer_sha256,
      sha256(readFileSync(TOKENIZER)),
      'the checkpoint was pretrained with tokenizer.json',
    );
    assert.equal(meta.corpus_sha256, corpus.total.sha256, 'on the corpus models/corpus/manifest.json describes');
    const vocab = Object.keys(JSON.parse(readFileSync(TOKENIZER, 'utf8')).model.vocab).length;
    assert.equal(meta.model_config.vocab_size, vocab, 'one embedding row per token of tokenizer.json');
    assert.ok(meta.tokens_seen > corpus.total.bytes / 4, 'it read about the whole corpus');

    const task = mkdtempSync(join(tmpdir(), 'operon-pretrained-'));
    try {
      generate({
        out: task,
        seed: 9,
        sizes: { train: 64, val: 16, test: 4, shifted: 4 },
        noise: 0.02,
        domains: ['order'],
      });
      await buildTokenizer(task, 'order', 0, join(task, 'order'), { tokenizerFile: TOKENIZER });
      const metricsFile = join(task, 'fine.json');
      await python(tinyTrainArgs(task, 2, ['--init', CHECKPOINT, '--metrics', metricsFile]));
      const fine = JSON.parse(readFileSync(metricsFile, 'utf8'));
      assert.equal(
        fine.params,
        1334016 - (128 - 96) * 128,
        'the 4 x 128 pretrained shape is kept (positions cut to 96)',
      );
      assert.ok(Number.isFinite(fine.loss));

      // layerDecay 0.5: each block learns at half the rate of the one above it, so after the same
      // steps the lowest block has moved from the pretrained weights about 1/8 as far as the top one
      const decayed = join(task, 'decayed.pt');
      await python(tinyTrainArgs(task, 2, ['--init', CHECKPOINT, '--set', 'layerDecay=0.5', '--out', decayed]));
      const moved = JSON.parse(
        await python([
          '-c',
          'import json, sys, torch; a = torch.load(sys.argv[1])["state_dict"]; b = torch.load(sys.argv[2])["state_dict"]; ' +
            'print(json.dumps({k: (b[k] - a[k]).abs().mean().item() for k in ("blocks.0.qkv.weight", "blocks.3.qkv.weight", "ln_f.weight")}))',
          CHECKPOINT,
          decayed,
        ]),
      );
      const ratio = moved['blocks.0.qkv.weight'] / moved['blocks.3.qkv.weight'];
      assert.ok(
        ratio > 0.08 && ratio < 0.2,
        `lowest block moved ${ratio} of the top block's distance (0.125 expected)`,
      );
      assert.ok(moved['ln_f.weight'] > 0.5 * moved['blocks.3.qkv.weight'], 'the final norm learns at the full rate');
    } finally {
      rmSync(task, { recursive: true, force: true });
    }
  });
});

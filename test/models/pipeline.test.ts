/**
 * The whole pipeline on a tiny corpus: generator -> tokenizer.json -> PyTorch GPT (a few steps) ->
 * ONNX export -> the Node runtime computes the same logits and hidden state as PyTorch (1e-4).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { loadDecisionModel } from '../../nodes/decision/model.ts';
import { BatchingClassifier } from '../../nodes/decision/classifier.ts';
import { renderPrompt } from '../../nodes/decision/prompt.ts';
import { hasTorch, python, TINY_MODEL, tinyCorpus, tinyTrainArgs } from './tiny-corpus.ts';

const torchAvailable = await hasTorch();

describe('models pipeline (tiny corpus)', {
  skip: torchAvailable ? false : 'needs /usr/bin/python3 with torch and onnx',
}, () => {
  let corpus: Awaited<ReturnType<typeof tinyCorpus>>;
  let reference: { ids: number[]; logits: number[]; hidden: number[] }[];
  let modelDir: string;

  before(async () => {
    corpus = await tinyCorpus('order');
    const { work } = corpus;
    await python(tinyTrainArgs(work, 12));
    modelDir = join(work, 'model');
    await python(['models/gpt/export.py', '--work', work, '--domain', 'order', '--out', modelDir, '--version', 'tiny']);
    await python([
      'models/gpt/export.py',
      '--work',
      work,
      '--domain',
      'order',
      '--out',
      join(work, 'optimum'),
      '--version',
      'tiny-hf',
      '--layout',
      'optimum',
    ]);
    reference = JSON.parse(
      await python([
        'models/gpt/logits.py',
        '--checkpoint',
        join(work, 'order', 'checkpoints', 'model.pt'),
        '--ids',
        join(work, 'order', 'val.ids.json'),
        '--limit',
        '8',
      ]),
    );
  });
  after(() => corpus?.cleanup());

  /** Three more steps from the exported folder's weights.pt (what models:continue does), saved as `name`. */
  async function continueRun(name: string, extra: string[] = []): Promise<string> {
    const checkpoint = join(corpus.work, name);
    await python(
      tinyTrainArgs(corpus.work, 3, [...extra, '--init', join(modelDir, 'weights.pt'), '--out', checkpoint]),
    );
    return checkpoint;
  }

  /** export.py on `checkpoint` into `dir` (an Operon folder), as a maintainer runs it; `extra` adds flags (`--member`). */
  const exportTo = (checkpoint: string, dir: string, version?: string, extra: string[] = []) =>
    python([
      'models/gpt/export.py',
      '--work',
      corpus.work,
      '--domain',
      'order',
      '--checkpoint',
      checkpoint,
      '--out',
      dir,
      ...(version ? ['--version', version] : []),
      ...extra,
    ]);

  /** The label logits an exported folder gives one short order prompt in Node. */
  async function labelLogitsOf(dir: string): Promise<number[]> {
    const model = await loadDecisionModel(dir, 'order');
    const { labelLogits } = await new BatchingClassifier(model).features('order. weight 2 kg notes: hi decision:');
    await model.session.close();
    return labelLogits;
  }

  test('the exported folder has model.onnx, tokenizer.json and a config with labels, calibration and metrics', () => {
    const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    assert.deepEqual(config.labels, ['warehouse', 'courier', 'pickup']);
    assert.equal(config.version, 'tiny');
    assert.ok(['none', 'temperature', 'content-free'].includes(config.calibration.method));
    assert.ok(config.calibration.temperature > 0);
    assert.match(config.trainingDataSha256, /^[0-9a-f]{64}$/);
    assert.equal(typeof config.metrics.validation.accuracy, 'number');
  });

  test('a run continued from an exported folder (models:continue) records the model it continued from', async () => {
    const checkpoint = await continueRun('continued.pt');
    const dir = join(corpus.work, 'continued');
    await exportTo(checkpoint, dir, 'tiny-2');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const from = config.training.continuedFrom;
    assert.equal(from.version, 'tiny');
    assert.match(from.sha256, /^[0-9a-f]{64}$/);
    assert.equal(from.training.history.at(-1).step, 12, 'the earlier run is kept');
    assert.equal(config.training.history.at(-1).step, 3);

    // A second continuation from the bare checkpoint (no config.json beside it) keeps both runs before it.
    const twice = join(corpus.work, 'continued-twice.pt');
    await python(tinyTrainArgs(corpus.work, 2, ['--init', checkpoint, '--out', twice]));
    const lineage = JSON.parse(
      await python([
        '-c',
        `import torch, sys, json
print(json.dumps(torch.load(sys.argv[1])['init']))`,
        twice,
      ]),
    );
    assert.equal(lineage.checkpoint, 'continued.pt');
    assert.equal(lineage.training.history.at(-1).step, 3, 'the run it continued from');
    assert.equal(lineage.training.continuedFrom.version, 'tiny', 'and the shipped model that run started from');
    assert.equal(lineage.training.continuedFrom.training.history.at(-1).step, 12);
  });

  test('a soup of a model and its continuation is their weights averaged, exported and scored in Node', async () => {
    const continued = await continueRun('continued-for-soup.pt', ['--set', 'seed=9']);
    const souped = join(corpus.work, 'soup.pt');
    const printed = JSON.parse(
      await python(['models/gpt/soup.py', join(modelDir, 'weights.pt'), continued, '--out', souped]),
    );
    assert.deepEqual(
      printed.soup.map((s: { weight: number; version?: string }) => [s.weight, s.version ?? null]),
      [
        [0.5, 'tiny'],
        [0.5, null],
      ],
    );
    // Every float parameter is the mean of the two; checked in PyTorch on the saved files.
    const check = await python([
      '-c',
      `import torch, sys
a, b, s = (torch.load(p)['state_dict'] for p in sys.argv[1:4])
print(max(float((s[k].double() - (a[k].double() + b[k].double()) / 2).abs().max()) for k in s if s[k].is_floating_point()))
print(max(float((a[k].double() - b[k].double()).abs().max()) for k in s if s[k].is_floating_point()))`,
      join(modelDir, 'weights.pt'),
      continued,
      souped,
    ]);
    const [soupError, runsApart] = check.trim().split('\n').map(Number);
    assert.ok(soupError! < 1e-6, `soup differs from the mean by ${soupError}`);
    assert.ok(runsApart! > 1e-4, 'the two runs differ, so the average is not one of them');
    const dir = join(corpus.work, 'souped');
    await exportTo(souped, dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.training.soup.length, 2);
    assert.equal(config.training.continuedFrom.version, 'tiny');
    const labelLogits = await labelLogitsOf(dir);
    assert.equal(labelLogits.length, 3);
    assert.ok(labelLogits.every(Number.isFinite));
    await assert.rejects(
      python(['models/gpt/soup.py', join(modelDir, 'weights.pt'), '--out', join(corpus.work, 'one.pt')]),
      /at least two checkpoints/,
    );
  });

  test("a shipped folder's weights.pt (weights alone) re-exports and soups with the training record of its config.json", async () => {
    const original = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));

    // Re-exported as it is (what a maintainer does to get another layout or a new calibration).
    const again = join(corpus.work, 'reexported');
    await exportTo(join(modelDir, 'weights.pt'), again, 'tiny-again');
    const reexported = JSON.parse(readFileSync(join(again, 'config.json'), 'utf8'));
    assert.deepEqual(reexported.training, original.training);
    assert.equal(reexported.trainingDataSha256, original.trainingDataSha256);
    const [before, after] = [await labelLogitsOf(modelDir), await labelLogitsOf(again)];
    before.forEach((z, i) => assert.ok(Math.abs(z - after[i]!) < 1e-4, `label ${i}: ${z} vs ${after[i]}`));

    // A soup whose last ingredient is the shipped folder keeps that folder's run.
    const continued = await continueRun('continued-first.pt', ['--set', 'seed=11']);
    const souped = join(corpus.work, 'soup-shipped-last.pt');
    await python(['models/gpt/soup.py', continued, join(modelDir, 'weights.pt'), '--out', souped]);
    const soupDir = join(corpus.work, 'souped-shipped-last');
    await exportTo(souped, soupDir, 'tiny-soup');
    const config = JSON.parse(readFileSync(join(soupDir, 'config.json'), 'utf8'));
    assert.deepEqual(config.training.history, original.training.history);
    assert.deepEqual(
      config.training.soup.map((s: { version?: string }) => s.version ?? null),
      [null, 'tiny'],
    );

    // Weights with no record at all are refused by name, not with a KeyError.
    const bare = join(corpus.work, 'bare.pt');
    await python([
      '-c',
      `import torch, sys
c = torch.load(sys.argv[1])
torch.save({'model_config': c['model_config'], 'state_dict': c['state_dict']}, sys.argv[2])`,
      continued,
      bare,
    ]);
    await assert.rejects(exportTo(bare, join(corpus.work, 'bare'), 'tiny-bare'), /does not say how it was trained/);
  });

  test("an ensemble (export.py --member) answers with the mean of its members' calibrated probabilities, re-exports from its weights.pt, continues and fine-tunes every member", async () => {
    // A second member: the same tiny shape and tokenizer, another seed, from scratch.
    const second = join(corpus.work, 'second.pt');
    await python(tinyTrainArgs(corpus.work, 12, ['--set', 'seed=9', '--out', second]));
    const secondDir = join(corpus.work, 'second');
    await exportTo(second, secondDir, 'tiny-second');
    const dir = join(corpus.work, 'ensemble');
    await exportTo(join(corpus.work, 'order', 'checkpoints', 'model.pt'), dir, 'tiny-ensemble', ['--member', second]);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const single = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    assert.equal(config.ensemble.members.length, 2);
    assert.equal(config.parameters, 2 * single.parameters);
    assert.deepEqual(config.ensemble.members[0].training, config.training);
    assert.equal(config.ensemble.members[1].training.config.seed, 9);
    const temperatures: number[] = config.ensemble.members.map((m: { temperature: number }) => m.temperature);
    assert.ok(temperatures.every((t) => t > 0));

    // Node reads one graph; its label logits are log(mean_i softmax(z_i / T_i)) of the members' own folders.
    const [a, b, both] = [await labelLogitsOf(modelDir), await labelLogitsOf(secondDir), await labelLogitsOf(dir)];
    const softmax = (z: number[], t: number) => {
      const e = z.map((x) => Math.exp(x / t - Math.max(...z) / t));
      const sum = e.reduce((x, y) => x + y, 0);
      return e.map((x) => x / sum);
    };
    const [pa, pb] = [softmax(a, temperatures[0]!), softmax(b, temperatures[1]!)];
    both.forEach((z, i) => {
      const expected = Math.log((pa[i]! + pb[i]!) / 2);
      assert.ok(Math.abs(z - expected) < 1e-4, `label ${i}: ${z} vs ${expected}`);
    });
    assert.ok(Math.abs(a[0]! - b[0]!) > 1e-4, 'the members differ, so the mean is neither');

    // The folder's weights.pt holds every member: re-exported, it is the same ensemble.
    const again = join(corpus.work, 'ensemble-again');
    await exportTo(join(dir, 'weights.pt'), again, 'tiny-ensemble-again');
    const reexported = JSON.parse(readFileSync(join(again, 'config.json'), 'utf8'));
    assert.deepEqual(
      reexported.ensemble.members.map((m: { training: unknown }) => m.training),
      config.ensemble.members.map((m: { training: unknown }) => m.training),
    );
    const bothAgain = await labelLogitsOf(again);
    both.forEach((z, i) => assert.ok(Math.abs(z - bothAgain[i]!) < 1e-4, `label ${i}: ${z} vs ${bothAgain[i]}`));

    // continue.py trains every member further from its own weights; export.py, given the first
    // checkpoint, finds the others (members.json). At lr 0 the weights stay put, so the ensemble
    // exported from the continuation answers as the folder did: member 2 started from member 2.
    const continuedDir = join(corpus.work, 'ensemble-continued-checkpoints');
    await python([
      'models/gpt/continue.py',
      '--work',
      corpus.work,
      '--domain',
      'order',
      '--model-dir',
      dir,
      '--out-dir',
      continuedDir,
      ...TINY_MODEL,
      '--set',
      'steps=2',
      '--set',
      'evalEvery=2',
      '--set',
      'lr=0',
    ]);
    const continued = join(corpus.work, 'ensemble-continued');
    await exportTo(join(continuedDir, 'model.pt'), continued, 'tiny-ensemble-continued');
    const continuedConfig = JSON.parse(readFileSync(join(continued, 'config.json'), 'utf8'));
    const runs = continuedConfig.ensemble.members.map(
      (m: {
        training: { continuedFrom: { version: string; member?: number; training: { config: { seed: number } } } };
      }) => m.training.continuedFrom,
    );
    assert.deepEqual(
      runs.map((r: { version: string; member?: number }) => [r.version, r.member]),
      [
        ['tiny-ensemble', undefined],
        ['tiny-ensemble', 2],
      ],
    );
    assert.equal(runs[1].training.config.seed, 9, "member 2's lineage is its own run");
    const continuedLogits = await labelLogitsOf(continued);
    both.forEach((z, i) =>
      assert.ok(Math.abs(z - continuedLogits[i]!) < 1e-4, `label ${i}: ${z} vs ${continuedLogits[i]}`),
    );
    await assert.rejects(
      python(tinyTrainArgs(corpus.work, 1, ['--init', join(dir, 'weights.pt'), '--member', '3'])),
      /holds 2 model\(s\): there is no member 3/,
    );

    // A later run that replaces model.pt (models:train) no longer matches members.json: one model.
    await python(tinyTrainArgs(corpus.work, 1, ['--out', join(continuedDir, 'model.pt')]));
    const replaced = join(corpus.work, 'ensemble-replaced');
    await exportTo(join(continuedDir, 'model.pt'), replaced, 'tiny-replaced');
    assert.equal(JSON.parse(readFileSync(join(replaced, 'config.json'), 'utf8')).ensemble, undefined);

    // finetune.py trains adapters on every member and exports the ensemble again.
    const cases = join(corpus.work, 'ensemble-cases.jsonl');
    await python([
      '-c',
      `import json, sys
rows = json.load(open(sys.argv[1]))[:24]
open(sys.argv[2], 'w').write(''.join(json.dumps({'ids': r['ids'], 'label': r['policy']}) + '\\n' for r in rows))`,
      join(corpus.work, 'order', 'val.ids.json'),
      cases,
    ]);
    const tunedDir = join(corpus.work, 'ensemble-tuned');
    const lines = (
      await python([
        'models/gpt/finetune.py',
        '--model-dir',
        dir,
        '--train',
        cases,
        '--held-out',
        cases,
        '--out',
        tunedDir,
        '--steps',
        '4',
        '--batch-size',
        '8',
        '--lora-rank',
        '2',
        '--threads',
        '1',
      ])
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const final = lines.at(-1).final;
    assert.equal(final.members, 2);
    assert.equal(final.frozenWeightsUnchanged, true);
    assert.ok(final.mergedTensors > 0);
    assert.deepEqual(new Set(lines.filter((l) => l.progress).map((l) => l.progress.member)), new Set([0, 1]));
    const tuned = JSON.parse(readFileSync(join(tunedDir, 'config.json'), 'utf8'));
    assert.equal(tuned.ensemble.members.length, 2);
    const tunedLogits = await labelLogitsOf(tunedDir);
    assert.ok(tunedLogits.every(Number.isFinite));
    assert.ok(
      tunedLogits.some((z, i) => Math.abs(z - both[i]!) > 1e-6),
      'the fine-tuned ensemble answers differently',
    );
  });

  test('Node tokenizes prompts to the ids PyTorch trained on', async () => {
    const tokenizer = Tokenizer.fromFile(join(modelDir, 'tokenizer.json'));
    const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    const rows = readFileSync(join(corpus.work, 'order', 'val.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 8)
      .map((l) => JSON.parse(l));
    for (const [i, row] of rows.entries()) {
      const { prompt } = renderPrompt(config.template, row.vars, {
        textVariables: config.textVariables,
        maxTextChars: config.maxTextChars,
      });
      assert.deepEqual((await tokenizer.encode(prompt)).getIds(), reference[i]!.ids);
    }
  });

  test('ONNX in Node gives the same logits and hidden state as PyTorch, alone and in a padded batch', async () => {
    const model = await loadDecisionModel(modelDir, 'order');
    const config = model.config;
    const rows = readFileSync(join(corpus.work, 'order', 'val.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 8)
      .map((l) => JSON.parse(l));
    const prompts = rows.map(
      (row) =>
        renderPrompt(config.template, row.vars, {
          textVariables: config.textVariables,
          maxTextChars: config.maxTextChars,
        }).prompt,
    );
    const classifier = new BatchingClassifier(model);
    const batched = await classifier.run(prompts, { fullLogits: true });
    const alone = await classifier.run([prompts[3]!], { fullLogits: true });
    assert.ok(new Set(reference.map((r) => r.ids.length)).size > 1, 'the batch mixes lengths, so padding is exercised');
    let maxDiff = 0;
    for (const [i, ref] of reference.entries()) {
      const got = batched[i]!;
      assert.equal(got.logits!.length, ref.logits.length);
      for (let k = 0; k < ref.logits.length; k++)
        maxDiff = Math.max(maxDiff, Math.abs(got.logits![k]! - ref.logits[k]!));
      for (let k = 0; k < ref.hidden.length; k++)
        maxDiff = Math.max(maxDiff, Math.abs(got.hidden![k]! - ref.hidden[k]!));
    }
    for (let k = 0; k < reference[3]!.logits.length; k++)
      maxDiff = Math.max(maxDiff, Math.abs(alone[0]!.logits![k]! - reference[3]!.logits[k]!));
    assert.ok(maxDiff <= 1e-4, `largest difference ${maxDiff}`);
  });

  test('an Optimum-style folder (logits for every position, position_ids, operon.json) scores the same as the Operon export', async () => {
    const operon = await loadDecisionModel(modelDir, 'order');
    const optimum = await loadDecisionModel(join(corpus.work, 'optimum'), 'optimum');
    assert.deepEqual([...optimum.session.inputNames].sort(), ['attention_mask', 'input_ids', 'position_ids']);
    assert.equal(optimum.hasHidden, false);
    assert.equal(optimum.config.format, 'hf-causal-lm');
    const rows = readFileSync(join(corpus.work, 'order', 'val.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 8)
      .map((l) => JSON.parse(l));
    const prompts = rows.map(
      (row) => renderPrompt(operon.config.template, row.vars, { textVariables: operon.config.textVariables }).prompt,
    );
    const a = await new BatchingClassifier(operon).run(prompts);
    const b = await new BatchingClassifier(optimum).run(prompts);
    for (const [i, row] of a.entries())
      for (const [k, z] of row.labelLogits.entries()) assert.ok(Math.abs(z - b[i]!.labelLogits[k]!) < 1e-4);
    await operon.session.close();
    await optimum.session.close();
  });
});

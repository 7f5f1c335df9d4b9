/**
 * Distributed data-parallel training with torchrun: 2 processes on this machine (gloo on CPU) train
 * the tiny GPT together; then a single process fine-tunes from that checkpoint on new data, and the result exports.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasTorch, python, tinyCorpus, TINY_MODEL } from './tiny-corpus.ts';
import { DOMAINS } from '../../models/data/domains.ts';

const torchAvailable = await hasTorch();

describe('torchrun DDP training', {
  skip: torchAvailable ? false : 'needs /usr/bin/python3 with torch and onnx',
}, () => {
  let corpus: Awaited<ReturnType<typeof tinyCorpus>>;
  before(async () => {
    corpus = await tinyCorpus('loan');
  });
  after(() => corpus?.cleanup());

  test('two gloo processes train one model; a later run fine-tunes from its checkpoint', async () => {
    const { work } = corpus;
    const ddpCheckpoint = join(work, 'ddp.pt');
    const ddpMetrics = join(work, 'ddp.json');
    const output = await python([
      // --redirects/--tee 2: torch 1.13's launcher mis-parses its default "0" under Python 3.11.
      '-m',
      'torch.distributed.run',
      '--standalone',
      '--nproc_per_node=2',
      '--redirects',
      '2',
      '--tee',
      '2',
      'models/gpt/train.py',
      '--work',
      work,
      '--domain',
      'loan',
      ...TINY_MODEL,
      '--set',
      'steps=8',
      '--set',
      'evalEvery=8',
      '--out',
      ddpCheckpoint,
      '--metrics',
      ddpMetrics,
    ]);
    const metrics = JSON.parse(readFileSync(ddpMetrics, 'utf8'));
    assert.equal(metrics.world_size, 2);
    assert.equal(metrics.step, 8);
    assert.ok(existsSync(ddpCheckpoint));
    assert.match(output, /"final"/);

    const fineTuned = join(work, 'fine-tuned.pt');
    const fineMetrics = join(work, 'fine.json');
    await python([
      'models/gpt/train.py',
      '--work',
      work,
      '--domain',
      'loan',
      ...TINY_MODEL,
      '--set',
      'steps=4',
      '--set',
      'evalEvery=4',
      '--init',
      ddpCheckpoint,
      '--train-ids',
      join(work, 'loan', 'val.ids.json'),
      '--out',
      fineTuned,
      '--metrics',
      fineMetrics,
    ]);
    const fine = JSON.parse(readFileSync(fineMetrics, 'utf8'));
    assert.equal(fine.world_size, 1);
    assert.equal(fine.params, metrics.params, 'fine-tuning keeps the architecture of the checkpoint');
    assert.ok(existsSync(fineTuned));

    // Exported, the loan model carries its domain's screened words (nodes/decision/screen.ts) and
    // the policy's requirements (nodes/decision/requires.ts), its edges (edges.ts) and its texts'
    // language (language.ts).
    const exported = join(work, 'exported-loan');
    await python([
      'models/gpt/export.py',
      '--work',
      work,
      '--domain',
      'loan',
      '--checkpoint',
      fineTuned,
      '--out',
      exported,
    ]);
    const config = JSON.parse(readFileSync(join(exported, 'config.json'), 'utf8'));
    assert.deepEqual(config.screen, JSON.parse(JSON.stringify(DOMAINS.loan.screen)));
    assert.deepEqual(config.requires, DOMAINS.loan.requires);
    assert.deepEqual(config.edges, DOMAINS.loan.edges);
    assert.equal(config.language, 'en');
  });

  test('the sweep script trains one run per grid point and records them in a table', async () => {
    const { work } = corpus;
    const config = join(work, 'tiny.config.json');
    const base = JSON.parse(readFileSync('models/train.config.json', 'utf8'));
    writeFileSync(
      config,
      JSON.stringify({ ...base, nLayer: 1, nHead: 2, dModel: 32, maxLen: 96, batchSize: 16, threads: 1, warmup: 2 }),
    );
    const table = join(work, 'SWEEP.md');
    await python([
      'models/gpt/sweep.py',
      '--work',
      work,
      '--domain',
      'loan',
      '--config',
      config,
      '--steps',
      '3',
      '--grid',
      '{"lr": [0.001, 0.003]}',
      '--out',
      table,
    ]);
    const rows = readFileSync(table, 'utf8')
      .split('\n')
      .filter((line) => /^\| 0\.00[13] \|/.test(line));
    assert.equal(rows.length, 2);
    for (const row of rows) assert.match(row, /^\| 0\.00[13] \| [01]\.\d+ \| [\d.]+ \| \d+ \| [\d.]+ \|$/);
  });
});

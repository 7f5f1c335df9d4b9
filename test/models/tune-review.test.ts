/**
 * `npm run models:tune-review`, run as a maintainer runs it (the CLI, on a copy of the shipped order
 * model and cases in the natural format it never trained on): it tries every setting of the search
 * space it was given, writes the setting that automates most at the precision target, and the
 * written config.json, loaded again, decides those cases with exactly the automation and precision
 * it recorded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { answerOf, decideAll, readNaturalCases } from '../../models/checklist.ts';
import { FAMILIARITY, seededRandom, shuffled, THRESHOLDS } from '../../models/tune-review.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const TARGET = 0.95;
let dir: string;
let casesFile: string;
/** Every fourth natural order case: all styles, about 80 cases. */
const cases = readNaturalCases(join(root, 'models/data/natural/order.test.jsonl')).filter((_, i) => i % 4 === 0);
const shipped = JSON.parse(readFileSync(join(root, 'models/order/config.json'), 'utf8')) as Record<string, unknown>;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'operon-tune-'));
  mkdirSync(join(dir, 'order'));
  for (const file of ['config.json', 'lexicon.txt', 'model.onnx', 'tokenizer.json', 'neighbours.jsonl', 'words.tsv'])
    copyFileSync(join(root, 'models/order', file), join(dir, 'order', file));
  casesFile = join(dir, 'cases.jsonl');
  writeFileSync(
    casesFile,
    cases
      .map((c) => JSON.stringify({ id: c.id, vars: c.variables, intent: c.intent, policyLabel: c.label }))
      .join('\n'),
  );
});

after(async () => {
  await DecisionAgent.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

test('tune-review searches only the signals it is given, writes the best setting, and the written config reproduces its numbers', async () => {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'models/tune-review.ts'),
      '--model',
      'order',
      '--cases',
      casesFile,
      '--precision',
      String(TARGET),
      '--without-boundary',
      '--without-consistency',
      '--models-dir',
      dir,
      '--write',
    ],
    { cwd: root, encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  const settings = run.stdout.split('\n').filter((line) => line.startsWith('order threshold='));
  // Every threshold x unfamiliar-word rule, and nothing else: no copies, no boundary nudges.
  assert.equal(settings.length, THRESHOLDS.length * FAMILIARITY.length, run.stdout);
  for (const line of settings) assert.match(line, / copies=0 boundary=0 /);
  assert.match(run.stdout, new RegExp(`order best at precision >= ${TARGET}`));
  assert.match(run.stdout, /chosen on one half, measured on the other/);

  const written = JSON.parse(readFileSync(join(dir, 'order', 'config.json'), 'utf8')) as {
    version: string;
    threshold: number;
    consistency?: unknown;
    boundary?: unknown;
    reviewTuning: {
      precisionTarget: number;
      source: string;
      cases: number;
      autoRate: number;
      autoPrecision: number;
      crossValidated: { autoRate: number; autoPrecision: number };
    };
  };
  assert.equal(written.version, shipped.version, 'the model itself is untouched');
  assert.equal(written.consistency, undefined);
  assert.equal(written.boundary, undefined);
  assert.equal(written.reviewTuning.precisionTarget, TARGET);
  assert.equal(written.reviewTuning.cases, cases.length);
  assert.match(written.reviewTuning.source, /cases\.jsonl$/);
  assert.ok(written.reviewTuning.autoPrecision >= TARGET);
  assert.ok(written.reviewTuning.autoRate > 0, 'some setting automates at the target');
  const cv = written.reviewTuning.crossValidated;
  assert.ok(cv.autoRate >= 0 && cv.autoRate <= 1 && cv.autoPrecision >= 0 && cv.autoPrecision <= 1);

  // The agent on the written folder decides the same cases with the recorded numbers.
  const agent = await DecisionAgent.load('order', { modelsDir: dir });
  assert.equal(agent.model.config.threshold, written.threshold);
  const answers = (
    await decideAll(
      agent,
      cases.map((c) => c.variables),
    )
  ).map(answerOf);
  const automated = answers.map((_, i) => i).filter((i) => answers[i] !== 'review');
  const right = automated.filter((i) => answers[i] === cases[i]!.label).length;
  assert.equal(Number((automated.length / cases.length).toFixed(4)), written.reviewTuning.autoRate);
  assert.equal(Number((right / automated.length).toFixed(4)), written.reviewTuning.autoPrecision);
});

test('the held-out halvings shuffle uniformly: every case lands in every position about equally often', () => {
  const random = seededRandom(1);
  const counts = Array.from({ length: 4 }, () => [0, 0, 0, 0]);
  const rounds = 4000;
  for (let k = 0; k < rounds; k++) shuffled(4, random).forEach((item, position) => counts[item]![position]!++);
  // Uniform: 1000 each. The sort(() => random() - 0.5) this replaced put case 1 in the last place 373 times and in the middle 1531.
  for (const row of counts) for (const n of row) assert.ok(n > 900 && n < 1100, JSON.stringify(counts));
  assert.deepEqual(
    [...shuffled(10, seededRandom(3))].sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i),
  );
});

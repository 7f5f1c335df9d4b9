/**
 * `operon decide` and `operon model ...` through the CLI entry point (a real child process).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { GROUNDED_LOAN_CASE, WINDOWED_LOAN_CASE } from './support/policy-cases.ts';
import { ORDER_MISSPELT_NOTES } from './support/misspelt-notes.ts';
import { DecisionAgent } from '../../nodes/decision/agent.ts';

const exec = promisify(execFile);
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  exec(process.execPath, ['--import', 'tsx', 'nodes/decision/cli.ts', ...args], { env: { ...process.env, ...env } });
/** `operon decide MODEL --vars VARS --json ...extra`, its stdout parsed. */
const decide = async (model: string, vars: object, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  JSON.parse((await cli(['decide', model, '--vars', JSON.stringify(vars), '--json', ...extra], env)).stdout);
const known = JSON.parse(readFileSync(new URL('./fixtures/known-cases.json', import.meta.url), 'utf8'));

describe('decision CLI', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => database?.drop());

  test('decide prints { label, confidence, scores, modelVersion } and records the decision when a database is given', async () => {
    const { stdout } = await cli(['decide', 'order', '--vars', JSON.stringify(known.order[0].variables), '--json'], {
      OPERON_DATABASE_URL: database.url,
    });
    const result = JSON.parse(stdout);
    assert.equal(result.label, 'pickup');
    assert.equal(typeof result.confidence, 'number');
    assert.deepEqual(Object.keys(result.scores).sort(), ['courier', 'pickup', 'warehouse']);
    assert.equal(typeof result.modelVersion, 'string');
    const row = await database.knex('decisions').first();
    assert.equal(row.model_name, 'order');
    assert.equal(row.label, 'pickup');
  });

  test('decide says when the written policy grounds an answer under the threshold, with the readings', async () => {
    const vars = GROUNDED_LOAN_CASE;
    const { stdout } = await cli(['decide', 'loan', '--vars', JSON.stringify(vars)], {
      OPERON_DATABASE_URL: database.url,
    });
    assert.match(
      stdout,
      /^approve \(confidence 0\.9\d\d, grounded by the policy on strong approve 0\.9\d\d, secured \w+ /,
    );
    const json = await decide('loan', vars);
    assert.equal(json.needsReview, false);
    assert.equal(json.grounding.strong.label, 'approve');
    const row = await database.knex('decisions').where({ model_name: 'loan' }).first('grounding');
    assert.deepEqual(row.grounding, json.grounding);
  });

  test('decide says when a long text was read in overlapping parts, with each part', async () => {
    const vars = WINDOWED_LOAN_CASE;
    const { stdout } = await cli(['decide', 'loan', '--vars', JSON.stringify(vars)]);
    assert.match(
      stdout,
      /^approve \(confidence 0\.9\d\d, the text read in \d overlapping parts: 0-\d+ approve 0\.9\d\d, /,
    );
    const json = await decide('loan', vars);
    assert.equal(json.needsReview, false);
    assert.equal(json.windows.at(-1).end, vars.purpose.length);
  });

  test('decide reads a misspelt decisive word again spelt right; models/decisive-words.ts --write --min-letters 5 adds five-letter words, and the decision is recorded', async () => {
    // A note the shipped model misreads (it answers otherwise with the word spelt right), found in process.
    const agent = await DecisionAgent.load('order');
    let misread: { vars: Record<string, unknown>; reason: string } | undefined;
    for (const [notes, word, meant] of ORDER_MISSPELT_NOTES) {
      const vars = { ...known.order[0].variables, notes };
      const reason = (await agent.infer(vars)).reviewReasons.find((r) =>
        r.startsWith(`notes has '${word}', one letter from '${meant}'`),
      );
      if (reason) {
        misread = { vars, reason };
        break;
      }
    }
    await DecisionAgent.closeAll();
    assert.ok(misread, 'one note of the list is misread');
    const shipped = await decide('order', misread.vars);
    assert.equal(shipped.needsReview, true);
    assert.ok(shipped.reviewReasons.includes(misread.reason), shipped.reviewReasons.join('; '));
    // 'urgnt' is a word of the lexicon (a hand-written training text held it), listed in typoWords:
    // it is read again spelt right all the same, so an automated answer is the spelt-right one.
    const withNotes = (notes: string) => decide('order', { ...known.order[0].variables, notes });
    const typo = await withNotes('urgnt please, leave it with a neighbour');
    const spelt = await withNotes('urgent please, leave it with a neighbour');
    if (typo.needsReview)
      assert.ok(
        typo.reviewReasons.some((r: string) => r.startsWith("notes has 'urgnt', one letter from 'urgent'")),
        typo.reviewReasons.join('; '),
      );
    else assert.equal(typo.label, spelt.label);

    const modelsDir = mkdtempSync(join(tmpdir(), 'operon-cli-decisive-'));
    cpSync('models/order', join(modelsDir, 'order'), { recursive: true });
    await exec(process.execPath, [
      '--import',
      'tsx',
      'models/decisive-words.ts',
      '--model',
      'order',
      '--models-dir',
      modelsDir,
      '--min-letters',
      '5',
      '--write',
    ]);
    // nat-order-0152 of the natural set with "hurry" misspelt: "hurry" has five letters.
    const hury = {
      weightKg: 19.3,
      distanceKm: 54,
      stock: { leeds: 4, bristol: 0, glasgow: 53 },
      deadlineHours: 72,
      customerTier: 'platinum',
      notes: 'The printer at the office is down until this toner arrives, please hury.',
    };
    const six = await decide('order', hury);
    assert.ok(
      !six.reviewReasons.some((r: string) => r.includes('one letter from')),
      'six letters and more when shipped',
    );
    const json = await decide('order', hury, ['--models-dir', modelsDir], { OPERON_DATABASE_URL: database.url });
    assert.equal(json.needsReview, true);
    const reason = json.reviewReasons.find((r: string) =>
      r.startsWith("notes has 'hury', one letter from 'hurry', a word that decides the case: spelt 'hurry', "),
    );
    assert.ok(reason, json.reviewReasons.join('; '));
    const row = await database.knex('decisions').where({ model_name: 'order' }).orderBy('created_at', 'desc').first();
    assert.equal(row.needs_review, true);
    assert.ok(JSON.stringify(row.review_reasons).includes("'hury', one letter from 'hurry'"));
  });

  test('decide sends an urgent order at exactly 300 km to a person, naming the policy threshold, and records it', async () => {
    const vars = {
      weightKg: 9.4,
      distanceKm: 300,
      stock: { leeds: 1, bristol: 18, glasgow: 1 },
      deadlineHours: 193,
      customerTier: 'silver',
      notes: 'As fast as possible please, it is for a wedding on Saturday',
    };
    const json = await decide('order', vars, [], { OPERON_DATABASE_URL: database.url });
    assert.equal(json.needsReview, true);
    const reason = json.reviewReasons.find((r: string) =>
      r.startsWith(
        'distanceKm 300 is on a threshold of the written policy, which treats it as 299; there the model answers courier',
      ),
    );
    assert.ok(reason, json.reviewReasons.join('; '));
    const row = await database.knex('decisions').where({ model_name: 'order' }).orderBy('created_at', 'desc').first();
    assert.equal(row.needs_review, true);
    assert.ok(JSON.stringify(row.review_reasons).includes('distanceKm 300 is on a threshold'));
    const inside = await decide('order', { ...vars, distanceKm: 299 });
    assert.deepEqual([inside.label, inside.needsReview], ['courier', false]);
  });

  test('decide with missing variables exits 1 with the error naming them', async () => {
    await assert.rejects(
      cli(['decide', 'loan', '--vars', '{"income": 50000}', '--json']),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        const body = JSON.parse(error.stderr);
        assert.equal(body.error.code, 'OPERON_ERR_MISSING_VARIABLES');
        assert.ok(body.error.details.missing.includes('creditScore'));
        return true;
      },
    );
  });

  test('model eval on a JSONL file, model train from a JSONL file and model list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'operon-cli-'));
    const file = join(dir, 'cases.jsonl');
    writeFileSync(
      file,
      known.loan
        .map((c: { variables: unknown; label: string }) => JSON.stringify({ variables: c.variables, label: c.label }))
        .join('\n'),
    );
    const evaluation = JSON.parse((await cli(['model', 'eval', 'loan', '--file', file, '--json'])).stdout);
    assert.equal(evaluation.cases, known.loan.length);
    assert.equal(evaluation.accuracy, 1);

    const train = JSON.parse(
      (await cli(['model', 'train', 'loan', '--jsonl', file, '--json', '--database-url', database.url])).stdout,
    );
    assert.equal(train.promoted, false);
    assert.match(train.reason, /too few reviewed cases/);

    const list = JSON.parse((await cli(['model', 'list', '--json'])).stdout);
    assert.deepEqual(
      list.map((m: { name: string }) => m.name),
      ['loan', 'order'],
    );
    assert.deepEqual(list[0].labels, ['approve', 'reject', 'review']);
    assert.equal(list[0].versions[0].active, true);
  });
});

/**
 * `npm run eval:model` reports the holdout sets: its counts are the shipped model's own answers on
 * every holdout case, recounted here one by one, and a folder without a holdout file reports none.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { readNaturalCases } from '../../models/checklist.ts';
import { DEFAULT_NATURAL_DIR, evaluateHoldout } from '../../models/eval.ts';

after(() => DecisionAgent.closeAll());

test('the holdout numbers are the model answers recounted, and a missing holdout file reports nothing', async () => {
  const agent = await DecisionAgent.load('order');
  const reported = await evaluateHoldout(agent, 'order', DEFAULT_NATURAL_DIR);
  assert.ok(reported);
  const cases = readNaturalCases(join(DEFAULT_NATURAL_DIR, 'order.holdout.jsonl'));
  let right = 0;
  let automated = 0;
  let wrong = 0;
  for (const c of cases) {
    const answer = await agent.infer(c.variables);
    if (answer.label === c.label) right++;
    if (!answer.needsReview && answer.label !== 'review') {
      automated++;
      if (answer.label !== c.label) wrong++;
    }
  }
  assert.equal(reported.cases, cases.length);
  assert.equal(reported.accuracy, right / cases.length);
  assert.equal(reported.automated, automated);
  assert.equal(reported.wrong, wrong);
  assert.ok(automated > 0 && automated < cases.length);
  assert.equal(await evaluateHoldout(agent, 'order', mkdtempSync(join(tmpdir(), 'operon-no-holdout-'))), null);
});

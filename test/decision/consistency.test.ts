/**
 * The consistency signal: which rewordings are tried, and, on the shipped loan model over natural
 * cases, that an automated answer goes to review exactly when a reworded copy gets another label.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { rewordings } from '../../nodes/decision/consistency.ts';
import { checkSignalOnNaturalCases } from './copies-check.ts';
import { shippedFolderWith } from './support/model-folder.ts';

after(() => DecisionAgent.closeAll());

test('rewordings: a typo in the longest word, a courtesy clause, no punctuation; never the text itself', () => {
  assert.deepEqual(rewordings("Paying for my daughter's wedding.", 3), [
    "Paying for my dauhgter's wedding.",
    "Paying for my daughter's wedding. Thanks.",
    "paying for my daughter's wedding",
  ]);
  assert.deepEqual(rewordings('new car', 3), ['new car, thanks'], 'no word of five letters, already plain');
  assert.equal(rewordings("Paying for my daughter's wedding.", 1).length, 1);
  assert.deepEqual(rewordings('', 3), []);
});

test('an automated answer goes to review exactly when a reworded copy is answered differently', async (t) => {
  const models = shippedFolderWith('loan', (config) => ({ ...config, consistency: { copies: 3 } }));
  const checked = await DecisionAgent.load('loan', { modelsDir: models });
  const plain = await DecisionAgent.load('loan');
  const { automated, flagged } = await checkSignalOnNaturalCases(
    'loan',
    { checked, plain },
    {
      fired: (r) => r.startsWith('the answer changes when purpose is slightly reworded'),
      copies: (variables) => rewordings(String(variables.purpose), 3).map((purpose) => ({ ...variables, purpose })),
    },
  );
  t.diagnostic(`${automated} automated, ${flagged} sent to review by the consistency check`);
});

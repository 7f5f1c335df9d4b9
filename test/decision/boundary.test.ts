/**
 * The boundary signal: which nudged copies are tried, and, on the shipped order model, that an
 * automated answer goes to review exactly when a copy with one number moved gets another label.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { nudges } from '../../nodes/decision/boundary.ts';
import { checkSignalOnNaturalCases } from './copies-check.ts';
import { shippedFolderWith } from './support/model-folder.ts';
import type { DecisionInputs } from '../../nodes/decision/inputs.ts';

after(() => DecisionAgent.closeAll());

test('nudges: each declared number moved down and up; integers stay whole, zero and text are left alone', () => {
  const inputs: DecisionInputs = {
    weightKg: { type: 'number' },
    'stock.leeds': { type: 'number' },
    'stock.bristol': { type: 'number' },
    deadlineHours: { type: 'number' },
    notes: { type: 'text' },
  };
  const variables = { weightKg: 2.5, stock: { leeds: 0, bristol: 7 }, deadlineHours: 24, notes: '12' };
  const copies = nudges(inputs, variables, 0.1);
  assert.deepEqual(
    copies.map((c) => [c.field, c.from, c.to]),
    [
      ['weightKg', 2.5, 2.25],
      ['weightKg', 2.5, 2.75],
      ['stock.bristol', 7, 6],
      ['stock.bristol', 7, 8],
      ['deadlineHours', 24, 22],
      ['deadlineHours', 24, 26],
    ],
  );
  assert.deepEqual(copies[2]!.variables, { ...variables, stock: { leeds: 0, bristol: 6 } });
  assert.deepEqual(variables.stock, { leeds: 0, bristol: 7 }, "the caller's object is not changed");
  assert.deepEqual(nudges(inputs, variables, 0), []);
});

test('an automated answer goes to review exactly when a nudged copy is answered differently', async (t) => {
  const models = shippedFolderWith('order', (config) => ({ ...config, boundary: { relative: 0.1 } }));
  const checked = await DecisionAgent.load('order', { modelsDir: models });
  const plain = await DecisionAgent.load('order');
  plain.model.config.boundary = undefined;
  const inputs = checked.model.config.inputs!;

  // A parcel due in exactly 24 hours: the deadline rule is where the answer changes.
  const due = {
    weightKg: 5,
    distanceKm: 500,
    stock: { leeds: 10, bristol: 10, glasgow: 10 },
    deadlineHours: 24,
    customerTier: 'standard',
    notes: 'leave it at the door please',
  };
  const edge = await checked.infer(due);
  assert.equal(edge.label, 'courier');
  assert.equal(edge.needsReview, true);
  assert.ok(
    edge.reviewReasons.some((r) =>
      /^deadlineHours 24 -> 2[0-9] changes the answer to warehouse: the case is near a decision boundary$/.test(r),
    ),
    edge.reviewReasons.join('; '),
  );
  const clear = await checked.infer({ ...due, deadlineHours: 120 });
  assert.equal(clear.label, 'warehouse');
  assert.ok(!clear.reviewReasons.some((r) => r.includes('decision boundary')), clear.reviewReasons.join('; '));

  const { automated, flagged } = await checkSignalOnNaturalCases(
    'order',
    { checked, plain },
    {
      fired: (r) => r.endsWith('the case is near a decision boundary'),
      copies: (variables) => nudges(inputs, variables, 0.1).map((n) => n.variables),
    },
  );
  t.diagnostic(`${automated} automated, ${flagged} sent to review by the boundary check`);
});

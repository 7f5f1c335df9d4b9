/**
 * Policy edges as a review signal: the policies' edges are exact (the policy answers a case on a
 * threshold as it answers it at the edge's `like` value, and the threshold is a real one), the
 * copies are taken only for numbers on an edge, malformed settings are refused at load, and an
 * order model's answer on an urgent parcel at exactly 300 km that differs from its answer at 299 km
 * goes to a person.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { edgeCopies, edgesError, onEdge } from '../../nodes/decision/edges.ts';
import { readModelConfig } from '../../nodes/decision/model.ts';
import { DOMAINS } from '../../models/data/domains.ts';
import {
  ORDER_INTENTS,
  LOAN_INTENTS,
  loanPolicy,
  orderPolicy,
  policyEdges,
  type LoanCase,
  type LoanIntent,
  type OrderCase,
  type OrderIntent,
} from '../../models/data/policy.ts';
import { loanCase, orderCase } from './support/policy-cases.ts';
import { shippedFolderWith } from './support/model-folder.ts';

after(() => DecisionAgent.closeAll());

/** A copy of the shipped order folder whose config.json holds `edges` instead of the shipped ones; returns the models dir. */
function orderFolderWithEdges(edges: unknown): string {
  return shippedFolderWith('order', (config) => ({ ...config, edges }));
}

/** The same case with `field` set to `value`. */
const at = <T extends object>(c: T, field: string, value: number): T => ({ ...c, [field]: value });

test('each edge of the written policies: the policy answers a case at the threshold as at `like`, and differently beyond it for some case', () => {
  for (const [domain, arbitrary, intents, policy] of [
    ['loan', loanCase, LOAN_INTENTS, (c: object, i: string) => loanPolicy(c as LoanCase, i as LoanIntent)],
    ['order', orderCase, ORDER_INTENTS, (c: object, i: string) => orderPolicy(c as OrderCase, i as OrderIntent)],
  ] as const) {
    for (const edge of policyEdges(domain)) {
      let differsBeyond = false;
      const beyond = edge.at + (edge.at - edge.like);
      fc.assert(
        fc.property(arbitrary, (c: object) => {
          for (const intent of intents) {
            const onIt = policy(at(c, edge.field, edge.at), intent);
            assert.equal(
              onIt,
              policy(at(c, edge.field, edge.like), intent),
              `${domain} ${edge.field} ${edge.at} ${intent}`,
            );
            if (onIt !== policy(at(c, edge.field, beyond), intent)) differsBeyond = true;
          }
        }),
        { numRuns: 1500 },
      );
      assert.ok(differsBeyond, `${domain} ${edge.field} ${edge.at} is a threshold: ${beyond} is answered otherwise`);
    }
    assert.deepEqual(
      DOMAINS[domain].edges,
      policyEdges(domain),
      `the ${domain} domain spec carries the policy's edges`,
    );
  }
});

test('the shipped folders carry the policy edges', () => {
  for (const domain of ['loan', 'order'] as const) {
    const config = JSON.parse(readFileSync(new URL(`../../models/${domain}/config.json`, import.meta.url), 'utf8'));
    assert.deepEqual(config.edges, policyEdges(domain));
  }
});

test('edgeCopies: only numbers between like (excluded) and at (included) get a copy, set to like', () => {
  const edges = [
    { field: 'distanceKm', at: 300, like: 299 },
    { field: 'weightKg', at: 30, like: 29.9 },
    { field: 'stock.leeds', at: 0, like: 1 },
  ];
  const variables = { distanceKm: 300, weightKg: 29.95, stock: { leeds: 0 }, notes: 'x' };
  assert.deepEqual(
    edgeCopies(edges, variables).map((c) => [c.field, c.from, c.to]),
    [
      ['distanceKm', 300, 299],
      ['weightKg', 29.95, 29.9],
      ['stock.leeds', 0, 1],
    ],
  );
  assert.deepEqual(edgeCopies(edges, variables)[2]!.variables, { ...variables, stock: { leeds: 1 } });
  assert.deepEqual(variables.stock, { leeds: 0 }, "the caller's object is not changed");
  assert.deepEqual(edgeCopies(edges, { distanceKm: 299, weightKg: 30.1, stock: { leeds: 1 } }), []);
  assert.deepEqual(edgeCopies(edges, { distanceKm: '300' }), [], 'a number as a string is not read as one');
  assert.equal(onEdge(580, 580, 581), true);
  assert.equal(onEdge(580.5, 580, 581), true);
  assert.equal(onEdge(581, 580, 581), false);
  assert.equal(onEdge(579, 580, 581), false);
});

test('malformed edges are named, and a folder with them does not load', async () => {
  const inputs = { distanceKm: { type: 'number' as const }, notes: { type: 'text' as const } };
  assert.equal(edgesError(undefined, inputs), null);
  assert.equal(edgesError([{ field: 'distanceKm', at: 300, like: 299 }], inputs), null);
  assert.match(edgesError({ distanceKm: 300 }, inputs)!, /must be a list/);
  assert.match(edgesError([{ field: 'distanceKm', at: '300', like: 299 }], inputs)!, /edges\[0\] must be/);
  assert.match(edgesError([{ field: 'distanceKm', at: 300, like: 300 }], inputs)!, /two different finite numbers/);
  assert.match(edgesError([{ field: 'notes', at: 3, like: 2 }], inputs)!, /notes, which is not a declared number/);
  assert.match(edgesError([{ field: 'weight', at: 3, like: 2 }], inputs)!, /weight, which is not a declared number/);

  const models = orderFolderWithEdges([{ field: 'distance', at: 300, like: 299 }]);
  assert.throws(() => readModelConfig(join(models, 'order'), 'order'), /edges\[0\] names distance/);
});

test('on a policy threshold: another answer where the policy treats the number the same goes to a person, named; the same answer on both sides costs nothing', async () => {
  const urgent = {
    weightKg: 9.4,
    distanceKm: 300,
    stock: { leeds: 1, bristol: 18, glasgow: 1 },
    deadlineHours: 193,
    customerTier: 'silver',
    notes: 'This is urgent, I need it tomorrow morning',
  };
  assert.equal(orderPolicy(urgent, 'urgent'), 'courier', 'the written policy sends it by courier');
  const agent = await DecisionAgent.load('order');
  // The check reads answers that would be automated; at threshold 0.5 any model's answer here is.
  const lenient = { threshold: 0.5 };
  const inside = await agent.infer({ ...urgent, distanceKm: 299 }, lenient);
  assert.deepEqual([inside.label, inside.needsReview], ['courier', false]);
  // The shipped edge (300 km read as 299 km): whichever label the model gives at exactly 300 km,
  // an answer other than the one at 299 km is not automated. (The order model shipped in
  // December 2026 routes this parcel to the warehouse at 300 km.)
  const onEdgeResult = await agent.infer(urgent, lenient);
  if (onEdgeResult.label !== 'courier')
    assert.ok(
      onEdgeResult.reviewReasons.includes(
        `distanceKm 300 is on a threshold of the written policy, which treats it as 299; there the model answers courier, not ${onEdgeResult.label}: a person checks the answer ${onEdgeResult.label}`,
      ),
      onEdgeResult.reviewReasons.join('; '),
    );
  else assert.ok(!onEdgeResult.reviewReasons.some((r) => r.includes('on a threshold')));

  // An edge whose two readings any sound model answers differently (250 km read as 600 km, a
  // made-up edge): the urgent parcel goes to a person, an ordinary note costs nothing.
  const moved = await DecisionAgent.load('order', {
    modelsDir: orderFolderWithEdges([{ field: 'distanceKm', at: 250, like: 600 }]),
  });
  const near = { ...urgent, distanceKm: 250 };
  const [asIs, far] = [await agent.infer(near, lenient), await agent.infer({ ...near, distanceKm: 600 }, lenient)];
  assert.deepEqual([asIs.label, asIs.needsReview, far.label, far.needsReview], ['courier', false, 'warehouse', false]);
  const straddled = await moved.infer(near, lenient);
  assert.equal(straddled.needsReview, true);
  assert.ok(
    straddled.reviewReasons.includes(
      'distanceKm 250 is on a threshold of the written policy, which treats it as 600; there the model answers warehouse, not courier: a person checks the answer courier',
    ),
    straddled.reviewReasons.join('; '),
  );
  const ordinary = await moved.infer({ ...near, notes: 'Please leave it in the porch' }, lenient);
  assert.deepEqual(
    [ordinary.label, ordinary.needsReview],
    ['warehouse', false],
    'the same answer on both sides costs no review',
  );
});

test('a misspelt decisive word and an edge together: the edge is checked on the case read with the word spelt right', async () => {
  // A made-up edge (600 km read as 250 km) in a copied folder, so the check holds for any sound
  // order model: "please expedite this" goes by courier at 250 km and from the warehouse at 600 km,
  // whatever the model makes of the misspelt "expidite".
  const parcel = {
    weightKg: 9.4,
    distanceKm: 600,
    stock: { leeds: 1, bristol: 18, glasgow: 1 },
    deadlineHours: 193,
    customerTier: 'silver',
    notes: 'please expidite this',
  };
  const lenient = { threshold: 0.5 };
  const agent = await DecisionAgent.load('order');
  const spelt = { ...parcel, notes: 'please expedite this' };
  const [near, far] = [await agent.infer({ ...spelt, distanceKm: 250 }, lenient), await agent.infer(spelt, lenient)];
  assert.deepEqual(
    [near.label, far.label],
    ['courier', 'warehouse'],
    'the two readings of the spelt-right note differ',
  );
  const moved = await DecisionAgent.load('order', {
    modelsDir: orderFolderWithEdges([{ field: 'distanceKm', at: 600, like: 250 }]),
  });
  assert.deepEqual(
    moved.prompt(parcel).misspelt.map((m) => [m.word, m.meant]),
    [['expidite', 'expedite']],
  );
  const result = await moved.infer(parcel, lenient);
  assert.notEqual(result.label, 'courier', 'at 600 km no reading sends it by courier');
  assert.equal(result.needsReview, true);
  assert.ok(
    result.reviewReasons.includes(
      `distanceKm 600 is on a threshold of the written policy, which treats it as 250; there the model answers courier, not ${result.label} (with 'expidite' read as 'expedite'): a person checks the answer ${result.label}`,
    ),
    result.reviewReasons.join('; '),
  );
});

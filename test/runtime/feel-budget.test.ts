import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateFeel } from '../../engine/feel/index.ts';
import { effectsOf, fixture, scenario } from './scenario.ts';

process.env.OPERON_FEEL_BUDGET_MS = '250';

describe('FEEL under a time budget', () => {
  it('iterating expressions give the same results as inline ones', () => {
    assert.deepEqual(evaluateFeel('for x in xs return x * 2', { xs: [1, 2, 3] }), { ok: true, value: [2, 4, 6] });
    assert.deepEqual(evaluateFeel('some x in xs satisfies x > 2', { xs: [1, 2, 3] }), { ok: true, value: true });
    assert.deepEqual(evaluateFeel('every x in xs satisfies x > 2', { xs: [1, 2, 3] }), { ok: true, value: false });
    assert.deepEqual(evaluateFeel('"for every"', {}), { ok: true, value: 'for every' });
  });

  it('a runaway script becomes an incident; the next expression runs on a fresh worker', async () => {
    const graph = structuredClone(await fixture('script-and-tasks.bpmn'));
    graph.elements.sum!.script!.expression = 'count(for i in 1..1000000000 return i)';
    const instance = await scenario(graph, { variables: { a: 1, b: 2 } });
    const [incident] = effectsOf(instance, 'incident.raise');
    assert.equal(incident!.code, 'OPERON_ERR_FEEL_BUDGET');
    assert.equal(incident!.elementId, 'sum');
    assert.match(incident!.message, /time budget of 250 ms/);
    assert.equal(instance.state, 'active');
    assert.deepEqual(evaluateFeel('for x in [1] return x', {}), { ok: true, value: [1] });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateFeel } from '../../engine/feel/index.ts';
import { INLINE_MAX_BYTES, isCheapSyntax, runsInline } from '../../engine/feel/inline.ts';
import { effectsOf, fixture, scenario } from './scenario.ts';
import type { ScriptTask } from '../../engine/model/graph.ts';

// Generous: the ordinary expressions here must finish within it on a busy machine.
process.env.OPERON_FEEL_BUDGET_MS = '2000';

describe('FEEL under a time budget', () => {
  it('iterating expressions give the same results as inline ones', () => {
    assert.deepEqual(evaluateFeel('for x in xs return x * 2', { xs: [1, 2, 3] }), { ok: true, value: [2, 4, 6] });
    assert.deepEqual(evaluateFeel('some x in xs satisfies x > 2', { xs: [1, 2, 3] }), { ok: true, value: true });
    assert.deepEqual(evaluateFeel('every x in xs satisfies x > 2', { xs: [1, 2, 3] }), { ok: true, value: false });
    assert.deepEqual(evaluateFeel('"for every"', {}), { ok: true, value: 'for every' });
  });

  it('a runaway script becomes an incident; the next expression runs on a fresh worker', async () => {
    const graph = structuredClone(await fixture('script-and-tasks.bpmn'));
    (graph.elements.sum as ScriptTask).script.expression = 'count(for i in 1..1000000000 return i)';
    const instance = await scenario(graph, { variables: { a: 1, b: 2 } });
    const [incident] = effectsOf(instance, 'incident.raise');
    assert.equal(incident!.code, 'OPERON_ERR_FEEL_BUDGET');
    assert.equal(incident!.elementId, 'sum');
    assert.match(incident!.message, /time budget of 2000 ms/);
    assert.equal(instance.state, 'active');
    assert.deepEqual(evaluateFeel('for x in [1] return x', {}), { ok: true, value: [1] });
  });

  it('only expressions proven cheap run inline: no costly construct, little data in the variables they name', () => {
    for (const cheap of [
      'approved and score > 600',
      'status in ["new", "open"]',
      'if x = null then "PT24H" else x',
      'count(items) > 3',
      'a.b.c',
      'string length(name) < 80',
    ]) {
      assert.equal(isCheapSyntax(cheap), true, cheap);
    }
    const costly = [
      'distinct values(items)',
      'union(a, b)',
      'sort(xs, function(x, y) x < y)',
      'items[qty > 1]',
      'f(x)[1]',
      '{a: x, b: [a, a]}.b',
      'matches(s, "a+")',
      'for x in xs return x',
      'x'.repeat(600),
    ];
    for (const text of costly) assert.equal(isCheapSyntax(text), false, text);
    assert.equal(isCheapSyntax('"distinct values(items)"'), true, 'string literals do not count');

    const big = { items: Array.from({ length: INLINE_MAX_BYTES / 4 }, (_, i) => i) };
    assert.equal(runsInline('count(items)', big), false, 'a cheap text over much data goes to the worker');
    assert.equal(
      runsInline('count(other)', { ...big, other: [1, 2] }),
      true,
      'only the variables the text names count',
    );
  });

  it('expressions sent to the worker give the same plain JSON as inline ones', () => {
    assert.deepEqual(
      evaluateFeel('items[qty > 1].sku', {
        items: [
          { sku: 'a', qty: 1 },
          { sku: 'b', qty: 2 },
        ],
      }),
      { ok: true, value: ['b'] },
    );
    assert.deepEqual(evaluateFeel('{d: date("2026-05-01")}.d', {}), { ok: true, value: '2026-05-01' });
    assert.deepEqual(evaluateFeel('distinct values(xs)', { xs: [1, 1, 2] }), { ok: true, value: [1, 2] });
    const many = Array.from({ length: 20_000 }, (_, i) => i);
    assert.deepEqual(evaluateFeel('count(xs) + 1', { xs: many }), { ok: true, value: 20_001 });
  });

  it('distinct values over 12,000 distinct contexts runs out of its budget instead of blocking', () => {
    const items = Array.from({ length: 12_000 }, (_, i) => ({ sku: `sku-${i}`, qty: i % 7 }));
    const result = evaluateFeel('distinct values(items)', { items });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.overBudget, true);
  });
});

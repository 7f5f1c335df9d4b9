import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { evaluate } from 'feelin';
import { evaluateFeel, toJson } from '../../engine/feel/index.ts';

/** What feelin itself answers, made plain JSON the way evaluateFeel does. */
function feelin(expression: string, context: Record<string, unknown>): unknown {
  return toJson(evaluate(expression, context).value);
}

const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<unknown>;
const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);

describe('FEEL names and literals (evaluated without feelin)', () => {
  it('a bare name gives the same value as feelin, present or missing', () => {
    fc.assert(
      fc.property(name, fc.dictionary(name, json, { maxKeys: 4 }), fc.boolean(), (variable, context, present) => {
        const variables = present ? { ...context, [variable]: context[variable] ?? 1 } : context;
        const result = evaluateFeel(variable, variables);
        assert.equal(result.ok, true);
        assert.deepEqual(JSON.parse(JSON.stringify(result.ok && result.value)), JSON.parse(JSON.stringify(feelin(variable, variables) ?? null)), variable);
      }),
      { numRuns: 500 },
    );
  });

  it('numbers, booleans and null are the literals feelin reads', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((n) => n.toFixed(3)), fc.constantFrom('true', 'false', 'null', '0', '-0', '007')), (literal) => {
        const text = String(literal);
        const result = evaluateFeel(text, {});
        assert.deepEqual(result, { ok: true, value: feelin(text, {}) === -0 ? 0 : feelin(text, {}) });
      }),
      { numRuns: 300 },
    );
  });

  it('keywords and anything else still go to feelin', () => {
    assert.deepEqual(evaluateFeel('not(false)', {}), { ok: true, value: true });
    assert.deepEqual(evaluateFeel('a.b', { a: { b: 2 } }), { ok: true, value: 2 });
    assert.deepEqual(evaluateFeel('items.price', { items: [{ price: 1 }, { price: 2 }] }), { ok: true, value: [1, 2] });
    assert.equal(evaluateFeel('if', {}).ok, false);
  });
});

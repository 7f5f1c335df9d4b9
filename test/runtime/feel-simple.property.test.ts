import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { evaluate } from 'feelin';
import { evaluateFeel, toJson } from '../../engine/feel/index.ts';

/** What feelin itself answers, made plain JSON the way evaluateFeel does; a parse error is a failed result. */
function feelin(expression: string, context: Record<string, unknown>): { ok: boolean; value?: unknown } {
  try {
    return { ok: true, value: toJson(evaluate(expression, context).value) };
  } catch {
    return { ok: false };
  }
}

const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<unknown>;
/** FEEL's keywords and literals are names too once the context holds them (feelin reads them so). */
const words = [
  'and',
  'or',
  'not',
  'for',
  'in',
  'return',
  'if',
  'then',
  'else',
  'some',
  'every',
  'satisfies',
  'instance',
  'of',
  'between',
  'function',
  'external',
  'true',
  'false',
  'null',
];
const name = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/), weight: 4 },
  { arbitrary: fc.constantFrom(...words), weight: 1 },
);

describe('FEEL names and literals (evaluated without feelin)', () => {
  it('a bare name gives the same value as feelin, present or missing, keywords and literals included', () => {
    fc.assert(
      fc.property(name, fc.dictionary(name, json, { maxKeys: 4 }), fc.boolean(), (variable, context, present) => {
        const variables = present ? { ...context, [variable]: context[variable] ?? 1 } : withoutKey(context, variable);
        const result = evaluateFeel(variable, variables);
        const expected = feelin(variable, variables);
        assert.equal(result.ok, expected.ok, variable);
        if (result.ok)
          assert.deepEqual(
            JSON.parse(JSON.stringify(result.value)),
            JSON.parse(JSON.stringify(expected.value ?? null)),
            variable,
          );
      }),
      { numRuns: 500 },
    );
  });

  it('a keyword is a parse error unless the context names it; a literal is itself unless the context names it', () => {
    assert.equal(evaluateFeel('in', {}).ok, false);
    assert.deepEqual(evaluateFeel('in', { in: 3 }), { ok: true, value: 3 });
    assert.deepEqual(evaluateFeel('true', {}), { ok: true, value: true });
    assert.deepEqual(evaluateFeel('true', { true: 'yes' }), { ok: true, value: 'yes' });
    assert.deepEqual(evaluateFeel('1', { '1': 5 }), { ok: true, value: 1 });
  });

  it('numbers, booleans and null are the literals feelin reads', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((n) => n.toFixed(3)),
          fc.constantFrom('true', 'false', 'null', '0', '-0', '007'),
        ),
        (literal) => {
          const text = String(literal);
          const result = evaluateFeel(text, {});
          const expected = feelin(text, {}).value;
          assert.deepEqual(result, { ok: true, value: expected === 0 ? 0 : expected });
        },
      ),
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

function withoutKey(context: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = context;
  return rest;
}

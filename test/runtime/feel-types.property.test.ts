/**
 * FEEL orders numbers with numbers and strings with strings; ordering values of different types is
 * null (engine/feel/strict-compare.mjs), on the engine's thread and in the FEEL worker alike. A
 * boolean, list or context on the right of `<` fails the evaluation instead (feelin cannot make a
 * range of it), which is an incident too: never an answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { evaluateFeel } from '../../engine/feel/index.ts';
import { evaluateInWorker } from '../../engine/feel/budget.ts';

const value = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n + 0),
  fc.integer({ min: -5, max: 5 }),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('x', 'y'), fc.integer(), { maxKeys: 2 }),
);
const ORDER = {
  '<': (a: any, b: any) => a < b,
  '<=': (a: any, b: any) => a <= b,
  '>': (a: any, b: any) => a > b,
  '>=': (a: any, b: any) => a >= b,
} as const;
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);
const orderable = (v: unknown) => typeof v === 'number' || typeof v === 'string';

/** What FEEL says `a op b` is: an ordering of two numbers or two strings, else null. */
function expected(op: keyof typeof ORDER, a: unknown, b: unknown): boolean | null {
  return orderable(a) && kind(a) === kind(b) ? ORDER[op](a, b) : null;
}

/** The answer, or 'error' when the evaluation failed (only for a right side that is no range bound). */
function outcome(result: { ok: boolean; value?: unknown }, b: unknown): unknown {
  if (result.ok) return result.value;
  assert.ok(b !== null && !orderable(b), `failed with ${JSON.stringify(b)} on the right: ${JSON.stringify(result)}`);
  return null;
}

const value$ = (result: ReturnType<typeof evaluateFeel>) => {
  assert.ok(result.ok, (result as { message?: string }).message);
  return result.value;
};

describe('FEEL ordering across types', () => {
  it('a op b is the ordering of two numbers or two strings, and null for any other pair', () => {
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(ORDER) as (keyof typeof ORDER)[])), value, value, (op, a, b) => {
        const answer = outcome(evaluateFeel(`a ${op} b`, { a, b }), b);
        assert.equal(answer, expected(op, a, b), `${JSON.stringify(a)} ${op} ${JSON.stringify(b)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('between and ranges hold only for a value of their bounds type', () => {
    fc.assert(
      fc.property(value, fc.integer({ min: -5, max: 0 }), fc.integer({ min: 0, max: 5 }), (a, lo, hi) => {
        const inRange = typeof a === 'number' ? a >= lo && a <= hi : null;
        assert.equal(value$(evaluateFeel('a between lo and hi', { a, lo, hi })), inRange, JSON.stringify(a));
        assert.equal(value$(evaluateFeel('a in [lo..hi]', { a, lo, hi })), inRange, JSON.stringify(a));
      }),
      { numRuns: 1000 },
    );
  });

  it('the FEEL worker (for long or heavy expressions) answers the same', () => {
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(ORDER) as (keyof typeof ORDER)[])), value, value, (op, a, b) => {
        const answer = evaluateInWorker(`a ${op} b`, { a, b }, undefined);
        assert.ok('ok' in answer, 'the worker answered');
        assert.equal(outcome(answer, b), expected(op, a, b), `${JSON.stringify(a)} ${op} ${JSON.stringify(b)}`);
      }),
      { numRuns: 200 },
    );
  });

  it('dates, times and durations still order among themselves, and not against strings', () => {
    const holds = (expression: string) => value$(evaluateFeel(expression, { s: '2026-01-01' }));
    assert.equal(holds('date("2026-01-01") < date("2026-02-01")'), true);
    assert.equal(holds('date and time("2026-01-01T10:00:00Z") >= date and time("2026-01-01T09:00:00Z")'), true);
    assert.equal(holds('time("10:00:00") > time("09:00:00")'), true);
    assert.equal(holds('duration("PT1H") < duration("PT2H")'), true);
    assert.equal(holds('date("2026-01-01") in [date("2025-01-01")..date("2027-01-01")]'), true);
    assert.equal(holds('s < date("2026-02-01")'), null);
    assert.equal(holds('date(s) < date("2026-02-01")'), true);
    assert.equal(holds('"b" > "a"'), true);
    assert.equal(holds('"abc" <= 30000'), null);
  });
});

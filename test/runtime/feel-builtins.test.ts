/**
 * Camunda 8's FEEL extension functions and duration arithmetic (engine/feel/builtins.mjs), on the
 * engine's thread and in the budgeted worker alike, plus the deploy-time syntax check that refuses
 * what Zeebe refuses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateFeel, feelSyntaxError } from '../../engine/feel/index.ts';
import { rewriteArithmetic } from '../../engine/feel/builtins.mjs';
import { isCheapSyntax } from '../../engine/feel/inline.ts';

// Generous: ordinary expressions must finish within it on a busy machine.
process.env.OPERON_FEEL_BUDGET_MS = '5000';

/**
 * The value of `expression` inline and in the worker (wrapped in a `for`, which never runs inline);
 * both must agree.
 */
function value(expression: string, context: Record<string, unknown> = {}): unknown {
  const inline = evaluateFeel(expression, context);
  const inWorker = evaluateFeel(`(for once in [1] return (${expression}))[1]`, context);
  assert.deepEqual(inWorker, inline, `worker and inline differ on ${expression}`);
  assert.ok(inline.ok, `${expression}: ${!inline.ok && inline.message}`);
  return inline.value;
}

describe('Camunda FEEL extension functions', () => {
  it('is defined: false for a missing variable, a missing entry and null (Camunda 8.4+), so not(is defined(x)) is true', () => {
    assert.equal(value('is defined(x)'), false);
    assert.equal(value('not(is defined(x))'), true);
    assert.equal(value('is defined(order.id)', { order: { total: 1 } }), false);
    assert.equal(value('is defined(order.total)', { order: { total: 1 } }), true);
    assert.equal(value('is defined(null)'), false);
    assert.equal(value('is defined(0)'), true);
  });

  it('get or else: the value unless null, else the default (positional and named)', () => {
    assert.equal(value('get or else(x, "prio-99")'), 'prio-99');
    assert.equal(value('get or else(x, "prio-99")', { x: 'prio-1' }), 'prio-1');
    assert.equal(value('get or else(value: null, default: 2)'), 2);
    assert.equal(value('get or else(null, null)'), null);
  });

  it('assert: the value when the condition holds; otherwise the evaluation fails with the cause', () => {
    assert.equal(value('assert(x, x >= 0)', { x: 4 }), 4);
    const failed = evaluateFeel('assert(x, x >= 0, "x must be positive")', { x: -1 });
    assert.deepEqual(failed, { ok: false, message: 'x must be positive' });
    const missing = evaluateFeel('assert(x, x != null)', {});
    assert.equal(missing.ok, false);
    const inWorker = evaluateFeel('(for once in [1] return assert(x, x >= 0, "bad"))[1]', { x: -1 });
    assert.deepEqual(inWorker, { ok: false, message: 'bad' });
  });

  it('is empty, is blank, trim', () => {
    assert.equal(value('is empty([])'), true);
    assert.equal(value('is empty([1])'), false);
    assert.equal(value('is empty("x")'), null);
    assert.equal(value('is blank("  ")'), true);
    assert.equal(value('is blank(" a ")'), false);
    assert.equal(value('trim("  hello  ")'), 'hello');
  });

  it('partition, duplicate values, string join with prefix and suffix', () => {
    assert.deepEqual(value('partition([1,2,3,4,5], 2)'), [[1, 2], [3, 4], [5]]);
    assert.equal(value('partition([1], 0)'), null);
    assert.deepEqual(value('duplicate values([1,2,3,2,1,{a:1},{a:1},{a:2}])'), [1, 2, { a: 1 }]);
    assert.equal(value('string join(["a","b","c"], ", ", "[", "]")'), '[a, b, c]');
    assert.equal(value('string join(["a", null, "c"], "-")'), 'a-c');
    assert.equal(value('string join(["a","b"])'), 'ab');
  });

  it('extract: every match of a regular expression', () => {
    assert.deepEqual(value('extract("references are 1234, 1256, 1378", "12[0-9]*")'), ['1234', '1256']);
    assert.equal(value('extract("a", "(")'), null);
  });

  it('uuid and random number', () => {
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const fresh = (expression: string) => {
      const result = evaluateFeel(expression, {});
      assert.ok(result.ok);
      return result.value;
    };
    const id = fresh('uuid()');
    assert.match(String(id), UUID);
    assert.notEqual(fresh('uuid()'), id);
    assert.match(String(fresh('(for once in [1] return uuid())[1]')), UUID);
    for (const expression of ['random number()', '(for once in [1] return random number())[1]']) {
      const n = fresh(expression);
      assert.ok(typeof n === 'number' && n >= 0 && n < 1, expression);
    }
  });

  it('to base64 and from base64', () => {
    assert.equal(value('to base64("FEEL")'), 'RkVFTA==');
    assert.equal(value('from base64("RkVFTA==")'), 'FEEL');
    assert.equal(value('from base64("not base64!")'), null);
    assert.equal(value('from base64(to base64("grüße"))'), 'grüße');
  });

  it('last day of month, for dates and dates with times', () => {
    assert.equal(value('last day of month(date("2024-02-10"))'), '2024-02-29');
    assert.equal(value('last day of month(date("2023-02-10"))'), '2023-02-28');
    assert.equal(value('last day of month(date and time("2024-12-01T10:00:00"))'), '2024-12-31');
    assert.equal(value('last day of month("2024-02-10")'), null);
  });

  it('get value and context put, with one key (as feelin) or a list of keys (a path)', () => {
    const order = { customer: { address: { city: 'Bonn' } }, total: 5 };
    assert.equal(value('get value(order, "total")', { order }), 5);
    assert.equal(value('get value(order, ["customer", "address", "city"])', { order }), 'Bonn');
    assert.equal(value('get value(order, ["customer", "phone"])', { order }), null);
    assert.equal(value('get value(order, "missing")', { order }), null);
    assert.deepEqual(value('context put({a: 1}, "b", 2)'), { a: 1, b: 2 });
    assert.deepEqual(value('context put(order, ["customer", "address", "zip"], "53111")', { order }), {
      customer: { address: { city: 'Bonn', zip: '53111' } },
      total: 5,
    });
    assert.deepEqual(value('context put({}, ["x", "y"], 1)'), { x: { y: 1 } });
    assert.equal(value('context put(1, "a", 2)'), null);
    assert.equal(value('context put({}, ["a", "__proto__"], {polluted: true})'), null);
    assert.equal(value('get value({}, ["constructor"])'), null);
  });

  it('fromAi is its value outside an AI agent', () => {
    assert.equal(value('fromAi(x, "the amount")', { x: 7 }), 7);
  });

  it('a variable named like a built-in wins over it', () => {
    assert.equal(value('trim', { trim: 'mine' }), 'mine');
  });
});

describe('duration arithmetic', () => {
  it('duration × number, number × duration, duration ÷ number, duration ÷ duration', () => {
    assert.equal(value('duration("PT1H") * 2'), 'PT2H');
    assert.equal(value('3 * duration("P1D")'), 'P3D');
    assert.equal(value('duration("P1Y") * 2'), 'P2Y');
    assert.equal(value('duration("P1D") / 4'), 'PT6H');
    assert.equal(value('duration("P1D") / duration("PT1H")'), 24);
    assert.equal(value('(date("2024-03-01") - date("2024-01-01")) * 1.5'), 'P90D');
    assert.equal(value('date("2024-01-01") + duration("P1D") * 3'), '2024-01-04');
    assert.equal(value('duration("PT1H") * "x"'), null);
  });

  it('numbers multiply and divide as before; precedence is kept', () => {
    assert.equal(value('a * 2 / 4', { a: 3 }), 1.5);
    assert.equal(value('1 + 2 * 3'), 7);
    assert.equal(value('(1 + 2) * 3 ** 2'), 27);
    assert.equal(value('a / 0', { a: 1 }), null);
    assert.equal(value('"a/b*c"'), 'a/b*c');
    assert.deepEqual(value('for i in [1,2] return i * k', { k: 3 }), [3, 6]);
    assert.equal(rewriteArithmetic('"2 * 3"'), '"2 * 3"');
  });

  it('a variable whose name has a space is read as one name in a product', () => {
    assert.equal(value('order total * 2', { 'order total': 5 }), 10);
  });

  it('new built-ins that can be costly run in the worker', () => {
    assert.equal(isCheapSyntax('extract(s, "a+")'), false);
    assert.equal(isCheapSyntax('duplicate values(xs)'), false);
    assert.equal(isCheapSyntax('is defined(x)'), true);
  });
});

describe('deploy-time FEEL syntax: what Zeebe refuses', () => {
  it('refuses a doubled comparison, a unary plus and a bare unary test', () => {
    assert.match(feelSyntaxError('size = = "large"') ?? '', /unary test/);
    assert.match(feelSyntaxError('size ++ "large"') ?? '', /unary plus/);
    assert.match(feelSyntaxError('= 5') ?? '', /unary test/);
    assert.match(feelSyntaxError('if a then < 2 else 3') ?? '', /unary test/);
  });

  it('accepts unary tests after in, ranges, negation and the built-ins with keywords in their names', () => {
    for (const ok of [
      'x in < 10',
      'x in (<= y, = 3)',
      'x in [1..3]',
      '[1..3]',
      '-x',
      '- -5',
      'get or else(x, 1)',
      'not(is defined(x))',
      'size = "large"',
      'last day of month(today())',
    ]) {
      assert.equal(feelSyntaxError(ok), undefined, ok);
    }
  });
});

/**
 * FEEL (via feelin) for everything the models express: gateway conditions, zeebe:ioMapping,
 * script tasks, correlation keys and `=` timer expressions. Never eval / Function / vm.
 *
 * Expressions are evaluated on plain JSON data and their results are made plain JSON again, so a
 * FEEL value can always be stored in a jsonb snapshot. Only expressions proven cheap run on the
 * engine's thread (inline.ts); every other one runs in a worker under a time budget (budget.ts).
 */
import { parseExpression } from 'feelin';
import type { SyntaxNodeRef } from '@lezer/common';
import { toJson, withClock } from './values.mjs';
import { CAMUNDA_BUILTINS, evaluateCamunda } from './builtins.mjs';
import { evaluateInWorker } from './budget.ts';
import { runsInline } from './inline.ts';
import type { FeelSession } from './session.ts';

export { FeelSession } from './session.ts';

/** The expression text without Camunda's leading `=` marker. */
export function stripFeelMarker(text: string): string {
  const trimmed = text.trim();
  return trimmed.startsWith('=') ? trimmed.slice(1).trim() : trimmed;
}

/** Is the text a FEEL expression in Camunda's notation (starts with `=`)? */
export function isFeelExpression(text: string | undefined): text is string {
  return typeof text === 'string' && text.trim().startsWith('=');
}

/** Returns a syntax error message, or undefined when `expression` (without `=`) parses as FEEL. */
export function feelSyntaxError(expression: string): string | undefined {
  if (expression.trim() === '') return 'empty expression';
  try {
    // With the built-ins' names: `get or else` parses as one name only when the parser knows it.
    const tree = parseExpression(expression, CAMUNDA_BUILTINS, undefined);
    let error: string | undefined;
    tree.iterate({
      enter(node) {
        if (error !== undefined) return false;
        if (node.type.isError) error = `unexpected input at position ${node.from}`;
        else error = notAnExpression(node, expression);
        return error === undefined;
      },
    });
    return error;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * What feelin's parser accepts but Camunda's FEEL (and so Zeebe at deployment) refuses: a unary test
 * such as `= "large"` or `< 10` anywhere but right after `in` (`size = = "large"`, `= 5`), and a
 * unary plus (`size ++ "large"`). feelin evaluates such text to null, which would fail every
 * instance at run time instead of the deployment.
 */
function notAnExpression(node: SyntaxNodeRef, expression: string): string | undefined {
  const first = node.node.firstChild;
  if (
    node.name === 'SimplePositiveUnaryTest' &&
    first?.name === 'CompareOp' &&
    node.node.parent?.name !== 'PositiveUnaryTest'
  ) {
    return `unexpected "${expression.slice(first.from, first.to)}" at position ${first.from}: a unary test is no expression`;
  }
  if (
    node.name === 'ArithmeticExpression' &&
    first?.name === 'ArithOp' &&
    expression.slice(first.from, first.to) === '+'
  ) {
    return `unexpected "+" at position ${first.from}: FEEL has no unary plus`;
  }
  return undefined;
}

/** `overBudget`: the expression ran past `OPERON_FEEL_BUDGET_MS` and was stopped. */
export type FeelResult = { ok: true; value: unknown } | { ok: false; message: string; overBudget?: true };

/**
 * Evaluates a FEEL expression (without `=`) against `context`. Never throws: a failure comes back
 * as `{ ok: false, message }` for the runtime to turn into an incident. With a `session` (a step
 * driver's), the engine's thread waits only briefly for the worker (see FeelSession); without one
 * it waits up to the budget.
 */
export function evaluateFeel(
  expression: string,
  context: Record<string, unknown>,
  now?: Date,
  session?: FeelSession,
): FeelResult {
  const simple = evaluateSimple(expression, context);
  if (simple) return simple;
  if (!runsInline(expression, context)) {
    const nowIso = now?.toISOString();
    const answer = session
      ? session.evaluate(expression, context, nowIso)
      : evaluateInWorker(expression, context, nowIso);
    if ('pending' in answer) return { ok: false, message: 'the FEEL worker did not answer' }; // only with a session
    return answer; // the worker made its value plain JSON
  }
  try {
    const { value } = evaluateCamunda(expression, now ? withClock(context, now.toISOString()) : context);
    return { ok: true, value: toJson(value) };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/** A plain ASCII name, a boolean, null or a plain decimal number: what most conditions and mappings are (`=approved`, `=orderId`). */
const SIMPLE = /^(?:[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?)$/;
/** Words that are FEEL syntax, never variable names. */
const KEYWORDS = new Set([
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
]);
const LITERALS: Record<string, unknown> = { true: true, false: false, null: null };

/**
 * The value of a bare variable name or a literal, without feelin: feelin parses the text again on
 * every evaluation (it has no compiled form), which cost about a sixth of a worker's CPU when every
 * gateway asked `=approved`. Same answers as feelin (a missing variable is null, a variable named
 * like a literal or keyword wins over it; a property test compares the two); anything else,
 * a keyword the context lacks included, returns undefined and goes to feelin.
 */
function evaluateSimple(expression: string, context: Record<string, unknown>): FeelResult | undefined {
  if (expression.length > 64 || !SIMPLE.test(expression)) return undefined;
  const first = expression.charCodeAt(0);
  if (first === 45 || (first >= 48 && first <= 57)) return { ok: true, value: Number(expression) + 0 }; // + 0: no -0
  // feelin reads a word the context names as that variable, even `true` or `in`.
  if (Object.hasOwn(context, expression)) return { ok: true, value: toJson(context[expression]) };
  if (KEYWORDS.has(expression)) return undefined;
  if (Object.hasOwn(LITERALS, expression)) return { ok: true, value: LITERALS[expression] };
  return { ok: true, value: null };
}

export { toJson, withClock } from './values.mjs';

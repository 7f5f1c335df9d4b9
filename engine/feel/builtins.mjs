// Camunda 8's FEEL extensions that feelin (8.2, its newest release) lacks, passed to every
// evaluation in its context, and duration arithmetic (duration × number, duration ÷ number,
// duration ÷ duration) that feelin's `*` and `/` refuse. Names and parameters follow
// @camunda/feel-builtins (the list Camunda Modeler offers); semantics follow
// docs.camunda.io/docs/components/modeler/feel/builtin-functions. Shared by the engine's thread
// (index.ts) and the FEEL worker (worker.mjs): plain JS. Types: builtins.d.mts.
import { randomUUID } from 'node:crypto';
import { date, duration, evaluate, FeelDate, FeelDateTime, FeelDuration, FeelFunction, parseExpression } from 'feelin';
import './strict-compare.mjs';

/** Names of the functions `*` and `/` are rewritten to (see rewriteArithmetic); not Camunda's. */
const MULTIPLY = 'operon multiply';
const DIVIDE = 'operon divide';

/** A FEEL function of these parameters; `arity` [least, most] arguments, otherwise null (FEEL's answer to a bad call). */
function builtin(parameterNames, arity, body) {
  return new FeelFunction((...args) => {
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    return args.length < arity[0] || args.length > arity[1] ? null : body(...args);
  }, parameterNames);
}

const isList = Array.isArray;
const isString = (value) => typeof value === 'string';
/** A FEEL context: a plain object (not a list, date, duration, range or function). */
const isContext = (value) =>
  value !== null &&
  typeof value === 'object' &&
  !isList(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);
/** Keys that would reach or replace an object's prototype: refused, as feelin refuses them. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const isPath = (path) => path.length > 0 && path.every((key) => isString(key) && !RESERVED_KEYS.has(key));
const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);

/** A failed `assert`: the evaluation fails, so the element gets an incident with `cause`. */
export class AssertionFailure extends Error {}

/** Structural equality of FEEL values, enough for `duplicate values` (plain JSON and temporals). */
function sameValue(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (typeof a.iso === 'string' || typeof b.iso === 'string') return a.constructor === b.constructor && a.iso === b.iso;
  if (isList(a) !== isList(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]));
}

function lastDayOfMonth(value) {
  if (!(value instanceof FeelDate) && !(value instanceof FeelDateTime)) return null;
  const { year, month } = value;
  const day = new Date(Date.UTC(year, month, 0)).getUTCDate(); // day 0 of the next month
  return date(`${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`);
}

/** The Camunda extension functions, by FEEL name. A variable of the same name wins over one. */
export const CAMUNDA_BUILTINS = Object.freeze({
  // Camunda 8.4+: null counts as not defined (so does a missing variable or context entry: null in feelin).
  'is defined': builtin(['value'], [1, 1], (value) => value !== null && value !== undefined),
  'get or else': builtin(['value', 'default'], [2, 2], (value, fallback) =>
    value === null || value === undefined ? fallback : value,
  ),
  assert: builtin(['value', 'condition', 'cause'], [2, 3], (value, condition, cause) => {
    if (condition === true) return value;
    throw new AssertionFailure(
      cause === undefined || cause === null ? 'The condition is not fulfilled' : String(cause),
    );
  }),
  'is empty': builtin(['list'], [1, 1], (list) => (isList(list) ? list.length === 0 : null)),
  'is blank': builtin(['string'], [1, 1], (string) => (isString(string) ? string.trim() === '' : null)),
  trim: builtin(['string'], [1, 1], (string) => (isString(string) ? string.trim() : null)),
  partition: builtin(['list', 'size'], [2, 2], (list, size) => {
    if (!isList(list) || !Number.isInteger(size) || size <= 0) return null;
    const parts = [];
    for (let at = 0; at < list.length; at += size) parts.push(list.slice(at, at + size));
    return parts;
  }),
  'duplicate values': builtin(['list'], [1, 1], (list) => {
    if (!isList(list)) return null;
    const duplicates = [];
    list.forEach((item, index) => {
      if (duplicates.some((seen) => sameValue(seen, item))) return;
      if (list.some((other, at) => at > index && sameValue(other, item))) duplicates.push(item);
    });
    return duplicates;
  }),
  'string join': builtin(['list', 'delimiter', 'prefix', 'suffix'], [1, 4], (list, delimiter, prefix, suffix) => {
    if (!isList(list) || list.some((item) => item !== null && !isString(item))) return null;
    if ([delimiter, prefix, suffix].some((part) => part !== undefined && part !== null && !isString(part))) return null;
    return (prefix ?? '') + list.filter((item) => item !== null).join(delimiter ?? '') + (suffix ?? '');
  }),
  extract: builtin(['string', 'pattern'], [2, 2], (string, pattern) => {
    if (!isString(string) || !isString(pattern)) return null;
    let expression;
    try {
      expression = new RegExp(pattern, 'gu');
    } catch {
      return null;
    }
    return Array.from(string.matchAll(expression), (match) => match[0]);
  }),
  uuid: builtin([], [0, 0], () => randomUUID()),
  'random number': builtin([], [0, 0], () => Math.random()),
  'to base64': builtin(['value'], [1, 1], (value) =>
    isString(value) ? Buffer.from(value, 'utf8').toString('base64') : null,
  ),
  'from base64': builtin(['value'], [1, 1], (value) => {
    if (!isString(value) || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return null;
    return Buffer.from(value, 'base64').toString('utf8');
  }),
  'last day of month': builtin(['date'], [1, 1], lastDayOfMonth),
  // feelin's versions take one key; Camunda's also a list of keys, a path into nested contexts.
  'get value': builtin(['context', 'key'], [2, 2], (context, key) => {
    const path = isList(key) ? key : [key];
    if (!isContext(context) || !isPath(path)) return null;
    let value = context;
    for (const name of path) {
      if (!isContext(value) || !Object.hasOwn(value, name)) return null;
      value = value[name];
    }
    return value ?? null;
  }),
  'context put': builtin(['context', 'key', 'value'], [3, 3], (context, key, value) => {
    const path = isList(key) ? key : [key];
    if (!isContext(context) || !isPath(path)) return null;
    const put = (into, [name, ...rest]) => ({
      ...into,
      [name]: rest.length === 0 ? value : put(isContext(into[name]) ? into[name] : {}, rest),
    });
    return put(context, path);
  }),
  // Camunda's AI-agent marker: outside an agent it is its value.
  fromAi: builtin(['value', 'description', 'type', 'schema', 'options'], [1, 5], (value) => value),
  [MULTIPLY]: builtin(['a', 'b'], [2, 2], multiply),
  [DIVIDE]: builtin(['a', 'b'], [2, 2], divide),
});

/** The built-ins under the context's variables: a variable named like a built-in wins. */
export function withBuiltins(context) {
  return { ...CAMUNDA_BUILTINS, ...context };
}

/** feelin's evaluate with Camunda's built-ins and duration arithmetic; throws as feelin does (and on a failed `assert`). */
export function evaluateCamunda(expression, context) {
  const full = withBuiltins(context);
  return evaluate(rewriteArithmetic(expression, full), full);
}

const MS = {
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
  microseconds: 0.001,
  nanoseconds: 0.000001,
};

/** A days-and-time duration as milliseconds, a years-and-months one as months. */
function magnitude(value) {
  const d = value.value;
  if (value.yearsMonths) return d.years * 12 + d.months;
  return Object.entries(MS).reduce((total, [unit, ms]) => total + d[unit] * ms, 0);
}

function durationOf(amount, yearsMonths) {
  if (!Number.isFinite(amount)) return null;
  const sign = amount < 0 ? '-' : '';
  if (yearsMonths) return duration(`${sign}P${Math.abs(Math.round(amount))}M`);
  const seconds = Math.round(Math.abs(amount)) / 1000;
  return duration(`${sign}PT${seconds}S`);
}

/** FEEL `a * b` with durations: duration × number (either order); numbers as feelin does. */
function multiply(a, b) {
  if (isNumber(a) && isNumber(b)) return a * b;
  if (a instanceof FeelDuration && isNumber(b)) return durationOf(magnitude(a) * b, a.yearsMonths);
  if (isNumber(a) && b instanceof FeelDuration) return durationOf(magnitude(b) * a, b.yearsMonths);
  return null;
}

/** FEEL `a / b` with durations: duration ÷ number, duration ÷ duration of the same kind (a number). */
function divide(a, b) {
  if (isNumber(a) && isNumber(b)) return b === 0 ? null : a / b;
  if (a instanceof FeelDuration && isNumber(b)) return b === 0 ? null : durationOf(magnitude(a) / b, a.yearsMonths);
  if (a instanceof FeelDuration && b instanceof FeelDuration && a.yearsMonths === b.yearsMonths) {
    const divisor = magnitude(b);
    return divisor === 0 ? null : magnitude(a) / divisor;
  }
  return null;
}

const rewritten = new Map();
const REWRITE_CACHE_SIZE = 2_000;

/**
 * The expression with every binary `*` and `/` turned into a call of the two functions above, so
 * that durations can be multiplied and divided (feelin's operators take numbers only). A call is
 * a primary expression, so precedence does not change. Texts without `*` or `/` come back as they
 * are; the answer is cached (expressions come from deployed models: few distinct texts).
 */
export function rewriteArithmetic(expression, context = CAMUNDA_BUILTINS) {
  if (!expression.includes('*') && !expression.includes('/')) return expression;
  // feelin parses a name with spaces as one name only when the context has it: such a context
  // can change the tree, so its rewrite is not shared with other contexts.
  if (Object.keys(context).some((name) => /\s/.test(name) && !Object.hasOwn(CAMUNDA_BUILTINS, name)))
    return rewrite(expression, context);
  let result = rewritten.get(expression);
  if (result === undefined) {
    result = rewrite(expression, CAMUNDA_BUILTINS);
    if (rewritten.size >= REWRITE_CACHE_SIZE) rewritten.clear();
    rewritten.set(expression, result);
  }
  return result;
}

function rewrite(expression, context) {
  let tree;
  try {
    tree = parseExpression(expression, context);
  } catch {
    return expression; // feelin reports the error when it evaluates
  }
  let failed = false;
  tree.iterate({ enter: (node) => !(failed ||= node.type.isError) });
  if (failed) return expression;
  /** Text of [from, to) with every multiplication or division inside it rewritten. */
  const textOf = (node) => {
    if (node.name === 'ArithmeticExpression') {
      const children = childrenOf(node);
      const op = children[1];
      if (children.length === 3 && op.name === 'ArithOp') {
        const symbol = expression.slice(op.from, op.to);
        if (symbol === '*' || symbol === '/') {
          const name = symbol === '*' ? MULTIPLY : DIVIDE;
          return `${name}(${textOf(children[0])}, ${textOf(children[2])})`;
        }
      }
    }
    let text = '';
    let at = node.from;
    for (const child of childrenOf(node)) {
      text += expression.slice(at, child.from) + textOf(child);
      at = child.to;
    }
    return text + expression.slice(at, node.to);
  };
  return textOf(tree.topNode);
}

function childrenOf(node) {
  const children = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  return children;
}

/**
 * Required conditions: a selective-prediction signal that reads the fields, not the model. A
 * policy often says what an answer needs whatever the text says: the lending policy approves no
 * term over 60 months and no score under 620, the routing policy sends no 40 kg parcel by courier.
 * The model learned those limits from examples and can miss them on a case unlike its training
 * data (a 103-month term on a small loan, approved at 0.97). A model folder's config.json may list,
 * per label, FEEL conditions on the input variables (`requires`); an automated answer whose case
 * fails one goes to a person, with the condition and the values in the reason. It never decides a
 * case, so a condition written too strictly costs reviews, not wrong answers.
 *
 * A condition is a FEEL expression (feelin, as in the BPMN: never eval) that must be true; false,
 * null (a variable missing) or an error count as not met. Conditions are checked at load: FEEL
 * syntax, only the cheap constructs that run on the calling thread (engine/feel/inline.ts), so a
 * check never waits for a worker, and only declared inputs, whose types are checked first. The
 * usual shapes (comparisons, `in` a list, sums, `and`, `or`) are compiled once from feelin's parse
 * tree (compiledCheck); anything else is evaluated by feelin on each check.
 */
import type { SyntaxNode } from '@lezer/common';
import { parseExpression } from 'feelin';
import { evaluateFeel, feelSyntaxError } from '../../engine/feel/index.ts';
import { isCheapSyntax } from '../../engine/feel/inline.ts';
import { valueAt } from './prompt.ts';

/** For each label, the conditions an automated answer with it needs. */
export type RequiresSettings = Record<string, string[]>;

/**
 * Why `settings` cannot be used with these `labels` and declared `inputs` (inputs.ts), or null when
 * it can (checked when the model folder loads). A condition may read declared inputs only: their
 * types are checked before the model runs, so a condition never meets a value of a type it was
 * not written for (engine/feel/strict-compare.mjs makes such a comparison null, but a condition
 * such as `if amount > 30000 then false else true` would still hold on it).
 */
export function requiresError(
  settings: unknown,
  labels: readonly string[],
  inputs?: object,
  field = 'requires',
): string | null {
  if (settings === undefined) return null;
  const declared = Object.keys(inputs ?? {});
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
    return `${field} must map labels to lists of FEEL conditions`;
  for (const [label, conditions] of Object.entries(settings)) {
    if (!labels.includes(label))
      return `${field} names '${label}', which is not one of the labels (${labels.join(', ')})`;
    if (!Array.isArray(conditions) || conditions.length === 0)
      return `${field}.${label} must be a non-empty list of FEEL conditions`;
    for (const condition of conditions) {
      if (typeof condition !== 'string') return `${field}.${label} has ${JSON.stringify(condition)}, not a FEEL text`;
      const syntax = feelSyntaxError(condition);
      if (syntax) return `${field}.${label}: '${condition}' is not FEEL (${syntax})`;
      if (!isCheapSyntax(condition))
        return `${field}.${label}: '${condition}' uses a construct that may run long (a loop, filter, context or regular expression)`;
      const undeclared = namesIn(condition).find(
        (name) => !declared.some((input) => input === name || input.startsWith(`${name}.`)),
      );
      if (undeclared !== undefined)
        return `${field}.${label}: '${condition}' reads ${undeclared}, which is not a declared input (config.json \`inputs\`)`;
    }
  }
  return null;
}

export class Requirements {
  readonly #conditions: ReadonlyMap<string, readonly Condition[]>;

  constructor(settings: RequiresSettings) {
    this.#conditions = new Map(
      Object.entries(settings).map(([label, texts]) => [
        label,
        texts.map((text) => ({ text, names: namesIn(text), check: compiledCheck(text) ?? feelCheck(text) })),
      ]),
    );
  }

  /** Whether conditions are listed for `label`. */
  lists(label: string): boolean {
    return this.#conditions.has(label);
  }

  #firstUnmet(label: string, variables: Record<string, unknown>): Condition | undefined {
    return this.#conditions.get(label)?.find((condition) => !condition.check(variables));
  }

  /** The first condition `label` needs that `variables` fail, or null when all hold (or none is listed). */
  unmet(label: string, variables: Record<string, unknown>): string | null {
    return this.#firstUnmet(label, variables)?.text ?? null;
  }

  /** The review reason for an automated `label` on `variables`, or null when it stands. */
  reason(label: string, variables: Record<string, unknown>): string | null {
    const failed = this.#firstUnmet(label, variables);
    if (!failed) return null;
    const values = failed.names
      .filter((name) => Object.hasOwn(variables, name))
      .map((name) => `${name} ${JSON.stringify(variables[name])}`);
    const shown = values.length ? ` (${values.join(', ')})` : '';
    return `${label} requires ${failed.text} and this case does not meet it${shown}: a person checks the answer ${label}`;
  }
}

interface Condition {
  text: string;
  /** The top-level variable names the text mentions (for the reason). */
  names: string[];
  /** True when the condition holds for these variables. */
  check: (variables: Record<string, unknown>) => boolean;
}

const feelCheck =
  (text: string) =>
  (variables: Record<string, unknown>): boolean => {
    const result = evaluateFeel(text, variables);
    return result.ok && result.value === true;
  };

/** A compiled piece of a condition: its FEEL value for these variables (null where FEEL gives null). */
type Compiled = (variables: Record<string, unknown>) => unknown;

/**
 * The conditions limits are made of (comparisons of numbers and strings, `in` a list of literals,
 * sums and differences, `and`, `or`, parentheses), compiled once from feelin's own parse tree,
 * because feelin parses the text again on every evaluation: about 100 µs for `amount <= 30000`,
 * 0.6 ms for the courier's two conditions, against a 1.4 ms decision. Same answers as feelin on
 * values of the declared types (property tests compare them); a comparison of values of other
 * types is null (not met), as in Camunda's FEEL and in feelin with engine/feel/strict-compare.mjs. Any
 * other construct returns null here and the condition goes to feelin.
 */
function compiledCheck(text: string): Condition['check'] | null {
  const top = parseExpression(text, {}, undefined).topNode;
  const compiled = top.firstChild && !top.firstChild.nextSibling ? compile(top.firstChild, text) : null;
  return compiled && ((variables) => compiled(variables) === true);
}

function compile(node: SyntaxNode, text: string): Compiled | null {
  const source = text.slice(node.from, node.to);
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  switch (node.name) {
    case 'NumericLiteral': {
      const value = Number(source);
      return () => value;
    }
    case 'StringLiteral': {
      if (source.includes('\\')) return null;
      const value = source.slice(1, -1);
      return () => value;
    }
    case 'VariableName':
    case 'PathExpression':
      return /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/.test(source) ? (variables) => valueAt(variables, source) : null;
    case 'ParenthesizedExpression':
      return children.length === 3 ? compile(children[1]!, text) : null;
    case 'ArithmeticExpression': {
      const sign = children[1] && text.slice(children[1].from, children[1].to);
      if (children.length !== 3 || (sign !== '+' && sign !== '-')) return null;
      const left = compile(children[0]!, text);
      const right = compile(children[2]!, text);
      if (!left || !right) return null;
      return (variables) => {
        const a = left(variables);
        const b = right(variables);
        if (!isNumber(a) || !isNumber(b)) return null;
        return sign === '+' ? a + b : a - b;
      };
    }
    case 'Conjunction':
    case 'Disjunction': {
      if (children.length !== 3) return null;
      const left = compile(children[0]!, text);
      const right = compile(children[2]!, text);
      if (!left || !right) return null;
      const decisive = node.name === 'Disjunction'; // or: any true decides; and: any false does
      return (variables) => {
        const values = [left(variables), right(variables)];
        if (values.includes(decisive)) return decisive;
        return values.every((v) => v === !decisive) ? !decisive : null;
      };
    }
    case 'Comparison':
      return compileComparison(children, text);
    default:
      return null;
  }
}

function compileComparison(children: SyntaxNode[], text: string): Compiled | null {
  if (children.length !== 3) return null;
  const left = compile(children[0]!, text);
  if (!left) return null;
  if (children[1]!.name === 'in') {
    const list = children[2]!.firstChild;
    if (children[2]!.name !== 'PositiveUnaryTest' || list?.name !== 'List' || list.nextSibling) return null;
    const items: string[] = [];
    for (let item = list.firstChild; item; item = item.nextSibling) {
      if (item.name === '[' || item.name === ']') continue;
      const source = text.slice(item.from, item.to);
      if (item.name !== 'StringLiteral' || source.includes('\\')) return null;
      items.push(source.slice(1, -1));
    }
    const allowed = new Set(items);
    return (variables) => {
      const value = left(variables);
      return typeof value === 'string' ? allowed.has(value) : null;
    };
  }
  const op = text.slice(children[1]!.from, children[1]!.to);
  const right = compile(children[2]!, text);
  const holds = COMPARISONS[op as keyof typeof COMPARISONS];
  if (children[1]!.name !== 'CompareOp' || !right || !holds) return null;
  const equality = op === '=' || op === '!=';
  return (variables) => {
    const a = left(variables);
    const b = right(variables);
    if (isNumber(a) && isNumber(b)) return holds(a, b);
    if (typeof a === 'string' && typeof b === 'string') return holds(a, b);
    // FEEL: null equals only null (so a missing value != 0 holds); ordering a null is null.
    if (equality && (a == null || b == null)) return holds(a == null, b == null);
    return null;
  };
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const COMPARISONS = {
  '<=': <T>(a: T, b: T) => a <= b,
  '>=': <T>(a: T, b: T) => a >= b,
  '<': <T>(a: T, b: T) => a < b,
  '>': <T>(a: T, b: T) => a > b,
  '=': <T>(a: T, b: T) => a === b,
  '!=': <T>(a: T, b: T) => a !== b,
};

/** Words of the condition outside string literals that may name variables (`stock.leeds` -> stock). */
function namesIn(text: string): string[] {
  const bare = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const words = bare.match(/(?<![.\w])[A-Za-z_]\w*/g) ?? [];
  return [...new Set(words.filter((w) => !FEEL_WORDS.has(w)))];
}

const FEEL_WORDS = new Set(['and', 'or', 'not', 'in', 'between', 'true', 'false', 'null', 'if', 'then', 'else']);

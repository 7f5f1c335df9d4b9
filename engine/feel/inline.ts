/**
 * Which FEEL expressions may run on the engine's own thread: only those proven cheap, because
 * nothing there can stop an evaluation once it runs. Proven cheap means both
 *
 * - the text is short and has no construct whose cost can grow faster than its input: no `for`,
 *   `some`, `every`, no filter (`list[condition]` runs the condition once per item), no context
 *   literal (its entries can double each other), no function definition, no regular expression
 *   (matches, replace, split, extract) and no built-in that compares every item with every other
 *   (distinct values, duplicate values, union) or calls back (sort, list replace);
 * - the variables it names hold little data (`INLINE_MAX_BYTES`), so even a linear pass is short.
 *
 * Everything else runs in the budgeted worker (budget.ts).
 */

/** Longer texts run in the worker: feelin's parser is superlinear on deeply nested input. */
const INLINE_MAX_CHARS = 500;
/** Most data (roughly JSON bytes) the variables an inline expression names may hold. */
export const INLINE_MAX_BYTES = 16 * 1024;

/**
 * Keywords and built-ins that iterate, backtrack, or compare items pairwise (feelin's `distinct
 * values` and `union` compare contexts and lists item by item; `sort` and `list replace` call back).
 * The other list built-ins are linear or n log n.
 */
const COSTLY = new RegExp(
  [
    String.raw`\b(?:for|some|every|function|matches|replace|split|sort|union|extract)\b`,
    String.raw`\b(?:distinct|duplicate)\s+values\b`,
    String.raw`\blist\s+replace\b`,
    // A context literal: its entries can refer to (and so double) each other.
    String.raw`\{`,
  ].join('|'),
);

/** What may stand right before a list literal's `[`; before anything else a `[` is a filter. */
const BEFORE_LIST_LITERAL = /(?:^|[(,[=<>!+\-*/:]|\b(?:in|and|or|then|else|if|return|satisfies|between|not))\s*$/;

/** Does the text (string literals blanked) contain a filter, `list[condition]`? */
function hasFilter(text: string): boolean {
  for (let at = text.indexOf('['); at >= 0; at = text.indexOf('[', at + 1)) {
    if (!BEFORE_LIST_LITERAL.test(text.slice(Math.max(0, at - 12), at))) return true;
  }
  return false;
}

const syntaxCache = new Map<string, boolean>();
const SYNTAX_CACHE_SIZE = 2_000;

/** Is the text of the expression free of costly constructs? String literals do not count. */
export function isCheapSyntax(expression: string): boolean {
  let cheap = syntaxCache.get(expression);
  if (cheap === undefined) {
    const text = expression.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    cheap = expression.length <= INLINE_MAX_CHARS && !COSTLY.test(text) && !hasFilter(text);
    // Expressions come from deployed models: few distinct texts. Bounded all the same.
    if (syntaxCache.size >= SYNTAX_CACHE_SIZE) syntaxCache.clear();
    syntaxCache.set(expression, cheap);
  }
  return cheap;
}

/**
 * May `expression` run inline against `context`? Every variable whose name occurs anywhere in the
 * text counts (a FEEL expression can reach a variable only by writing its name).
 */
export function runsInline(expression: string, context: Record<string, unknown>): boolean {
  if (!isCheapSyntax(expression)) return false;
  let budget = INLINE_MAX_BYTES;
  for (const name in context) {
    if (!expression.includes(name)) continue;
    budget = remainingAfter(context[name], budget - name.length);
    if (budget < 0) return false;
  }
  return true;
}

/** `budget` minus the rough JSON size of `value`; stops counting once below 0. Iterative: values may nest deeply. */
function remainingAfter(value: unknown, budget: number): number {
  const stack: unknown[] = [value];
  while (stack.length > 0 && budget >= 0) {
    const item = stack.pop();
    if (typeof item === 'string') budget -= item.length + 2;
    else if (item === null || typeof item !== 'object') budget -= 8;
    else if (Array.isArray(item)) {
      budget -= item.length + 2;
      if (budget >= 0) for (const entry of item) stack.push(entry);
    } else {
      budget -= 2;
      for (const key in item) {
        budget -= key.length + 4;
        stack.push((item as Record<string, unknown>)[key]);
        if (budget < 0) break;
      }
    }
  }
  return budget;
}

/**
 * The context budget: a prompt longer than the model's maxLength loses tokens from the end of its
 * free text, never from the structured fields or the template's closing "decision:". Free text
 * could otherwise push the fields the decision rests on out of the model's window.
 */
import type { TextSpan } from './prompt.ts';

export interface FittedPrompt {
  ids: number[];
  /** The prompt as the model reads it: each cut text ends at a word boundary. */
  prompt: string;
  cutFields: string[];
}

/** UTF-16 index of each code point index (tokenizer offsets count code points). */
function codePointIndex(text: string): ((offset: number) => number) | null {
  if (!/[\uD800-\uDFFF]/.test(text)) return null;
  const indices: number[] = [];
  let i = 0;
  for (const char of text) {
    indices.push(i);
    i += char.length;
  }
  indices.push(i);
  return (offset) => indices[Math.min(offset, indices.length - 1)]!;
}

/**
 * Drops tokens from the end of the free-text spans, the longest first, until the prompt fits
 * `max` tokens; cuts fall on word boundaries, so the returned prompt tokenizes to the returned ids.
 * Null when the free text alone cannot make room (the structured part is too long).
 */
export function fitToBudget(
  prompt: string,
  spans: TextSpan[],
  ids: number[],
  offsets: number[][],
  max: number,
): FittedPrompt | null {
  const toIndex = codePointIndex(prompt);
  const start = (token: number) => (toIndex ? toIndex(offsets[token]![0]) : offsets[token]![0]);
  const end = (token: number) => (toIndex ? toIndex(offsets[token]![1]) : offsets[token]![1]);
  const tokensOf = spans.map((span) =>
    ids.map((_, t) => t).filter((t) => start(t) >= span.start && end(t) <= span.end),
  );
  const keep = tokensOf.map((tokens) => tokens.length);
  let overflow = ids.length - max;
  while (overflow > 0) {
    let longest = -1;
    keep.forEach((k, s) => {
      if (k > 0 && (longest < 0 || k > keep[longest]!)) longest = s;
    });
    if (longest < 0) return null;
    keep[longest]!--;
    overflow--;
  }
  const dropped = new Set<number>();
  const cutFields: string[] = [];
  let text = prompt;
  for (let s = spans.length - 1; s >= 0; s--) {
    const tokens = tokensOf[s]!;
    let k = keep[s]!;
    if (k === tokens.length) continue;
    // Back to the start of a word, so that what is kept tokenizes the same on its own.
    while (k > 0 && !/\s/.test(prompt[start(tokens[k]!) - 1] ?? ' ')) k--;
    for (let t = k; t < tokens.length; t++) dropped.add(tokens[t]!);
    const span = spans[s]!;
    const cutAt = k === 0 ? span.start : start(tokens[k]!);
    text = text.slice(0, cutAt).trimEnd() + text.slice(span.end);
    if (!cutFields.includes(span.name)) cutFields.unshift(span.name);
  }
  return { ids: ids.filter((_, t) => !dropped.has(t)), prompt: text, cutFields };
}

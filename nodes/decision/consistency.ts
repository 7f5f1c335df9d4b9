/**
 * Consistency as a selective-prediction signal: an answer the model would act on is checked on
 * slightly reworded copies of the free text (a typo in its longest word, a courtesy clause at the
 * end, the text in lower case without punctuation). A person would read each copy the same way;
 * when the model does not, it has not understood the text, and the case goes to review. The copies
 * run in the same batch as other decisions, so the check costs one batched run, not three.
 */

export interface ConsistencySettings {
  /** How many reworded copies to score (1-3). */
  copies: number;
}

/** Deterministic rewordings of `text` that keep its meaning; fewer when a rewording does not apply. */
export function rewordings(text: string, copies: number): string[] {
  const out: string[] = [];
  const words = text.match(/[A-Za-z]{5,}/g) ?? [];
  const longest = words.reduce((a, w) => (w.length > a.length ? w : a), '');
  if (longest) {
    // Swap two inner letters, as a hurried typist does; first and last letters stay.
    const i = Math.floor(longest.length / 2) - 1;
    const typo = longest.slice(0, i) + longest[i + 1] + longest[i] + longest.slice(i + 2);
    if (typo !== longest) out.push(text.replace(longest, typo));
  }
  const trimmed = text.trimEnd();
  if (trimmed) out.push(/[.!?]$/.test(trimmed) ? `${trimmed} Thanks.` : `${trimmed}, thanks`);
  const plain = text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s']/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (plain && plain !== text) out.push(plain);
  return [...new Set(out)].filter((t) => t !== text).slice(0, Math.max(0, Math.min(3, copies)));
}

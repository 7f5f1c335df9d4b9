/**
 * Unfamiliar words: a selective-prediction signal. A model folder may ship `lexicon.txt`, every
 * word form of its training texts, one per line (written by models/gpt/export.py). A free-text
 * word the model never saw, not even one typo away (an insertion, deletion, substitution or swap
 * of two neighbours), is unfamiliar; a text with too many of them goes to a person however
 * confident the model is, because its confidence says nothing about words it cannot read.
 *
 * The symmetric-delete trick (every form with one letter removed, computed once for the lexicon)
 * makes the typo check a few set lookups per word.
 */

export interface FamiliaritySettings {
  /** The text goes to review with at least this many unfamiliar words ... */
  minWords: number;
  /** ... making up at least this share of its words. */
  minShare: number;
}

export const DEFAULT_FAMILIARITY: FamiliaritySettings = { minWords: 2, minShare: 0.2 };

/** Words as the check sees them: lowercase letter runs (apostrophes kept inside), two letters or more. */
export function textWords(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .match(/[a-z]+(?:'[a-z]+)*/g)
      ?.filter((w) => w.length >= 2) ?? []
  );
}

function deletes(word: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < word.length; i++) out.push(word.slice(0, i) + word.slice(i + 1));
  return out;
}

function swaps(word: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < word.length; i++) out.push(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
  return out;
}

export class Lexicon {
  readonly #words: Set<string>;
  /** Every lexicon word (4 letters or more) with one letter removed. */
  readonly #deleted = new Set<string>();

  constructor(words: Iterable<string>) {
    this.#words = new Set(words);
    for (const word of this.#words) if (word.length >= 4) for (const d of deletes(word)) this.#deleted.add(d);
  }

  get size(): number {
    return this.#words.size;
  }

  static parse(text: string): Lexicon {
    return new Lexicon(
      text
        .split('\n')
        .map((w) => w.trim())
        .filter(Boolean),
    );
  }

  /** A word of the training texts, letter for letter. */
  has(word: string): boolean {
    return this.#words.has(word);
  }

  /** Known, or one edit from a known word of 4 letters or more (short words must match exactly). */
  knows(word: string): boolean {
    if (this.#words.has(word)) return true;
    if (word.length < 4) return false;
    if (this.#deleted.has(word)) return true; // one letter missing from a known word
    for (const d of deletes(word)) if (this.#words.has(d) || this.#deleted.has(d)) return true; // one extra or one changed letter
    for (const s of swaps(word)) if (this.#words.has(s)) return true;
    return false;
  }

  /** The words of `text` this lexicon does not know, in order, each once. */
  unfamiliar(text: string): string[] {
    return [...new Set(textWords(text).filter((w) => !this.knows(w)))];
  }
}

/** A review reason when `text` has too many unfamiliar words, else null. */
export function unfamiliarReason(
  field: string,
  text: string,
  lexicon: Lexicon,
  settings: FamiliaritySettings = DEFAULT_FAMILIARITY,
): string | null {
  const words = textWords(text);
  if (words.length === 0) return null;
  const unknown = [...new Set(words)].filter((w) => !lexicon.knows(w));
  const count = words.filter((w) => unknown.includes(w)).length;
  if (count < settings.minWords || count / words.length < settings.minShare) return null;
  const shown = unknown
    .slice(0, 5)
    .map((w) => `'${w}'`)
    .join(', ');
  return `${field} has words the model was not trained on (${shown}${unknown.length > 5 ? ', ...' : ''}): ${count} of ${words.length} words`;
}

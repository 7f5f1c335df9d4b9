/**
 * Unfamiliar words: a selective-prediction signal. A model folder may ship `lexicon.txt`, every
 * word form of its training texts, one per line (written by models/gpt/export.py). A free-text
 * word the model never saw, not even one typo away (an insertion, deletion, substitution or swap
 * of two neighbours), is unfamiliar; a text with too many of them goes to a person however
 * confident the model is, because its confidence says nothing about words it cannot read.
 *
 * The symmetric-delete trick (every form with one letter removed, computed once for the lexicon)
 * makes the typo check a few set lookups per word.
 *
 * Misspelt decisions: the typo check makes "urget" familiar (one letter from "urgent"), yet the
 * model reads it as no urgency at all, at 0.99 ("urget, and please ring the bell twice" went from
 * the warehouse; the loan model approved "gabmlin debts"). A model folder may list the words that
 * decide its cases (config.json `decisiveWords`); for a free-text word outside the lexicon that is
 * one typo from one of them (six letters or more), the agent reads the case again with the word
 * spelt right, and another answer sends the case to a person, with both words in the reason. A
 * misspelling the model reads as meant ("garantor", "weding") costs nothing. A word of the
 * lexicon is not a misspelling ("setting" is not "betting"), unless the folder lists it among its
 * `typoWords`: lexicon words that are no English word and one typo from a decisive word ("urgant",
 * "urgnt"), which a training text held once and the model may not have learnt
 * (models/decisive-words.ts writes them from WordNet).
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

/** True when `a` and `b` differ by one insertion, deletion, substitution or swap of two neighbours. */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // swap
  }
  const [long, short] = a.length > b.length ? [a, b] : [b, a];
  return long.slice(i + 1) === short.slice(i);
}

/**
 * Decisive words shorter than this are not checked: one letter from "dept" is "debt". The
 * shipped lists hold words of six letters or more (models/decisive-words.ts); a list written with
 * `--min-letters 5` adds "court", "hurry" and "quick", whose one-letter neighbours ("count") are
 * read again spelt as the decisive word, at the cost of a forward pass.
 */
const MIN_DECISIVE = 5;

/** Endings that make another form of a word ("depots", "stated", "packing", "brother's"). */
const ENDINGS = ["'s", 's', 'es', 'd', 'ed', 'ing', 'er', 'ers', 'ly'];

/** A lexicon word, or one with an ending added ("depots" from "depot", "stated" from "state", "packing" from "pack"). */
function knownForm(word: string, lexicon: Lexicon): boolean {
  if (lexicon.has(word)) return true;
  return ENDINGS.some((end) => {
    if (!word.endsWith(end) || word.length - end.length < 3) return false;
    const stem = word.slice(0, -end.length);
    return lexicon.has(stem) || ((end === 'ing' || end === 'ed') && lexicon.has(`${stem}e`));
  });
}

/** Why config.json `decisiveWords` (or `typoWords`) cannot be used, or null when it can (checked when the folder loads). */
export function decisiveWordsError(words: unknown, key = 'decisiveWords'): string | null {
  if (words === undefined) return null;
  return Array.isArray(words) && words.every((w) => typeof w === 'string' && /^[a-z']+$/.test(w))
    ? null
    : `${key} must be lowercase words`;
}

/** A free-text word that may be a misspelt decisive word, and the word it is one typo from. */
export interface Misspelling {
  field: string;
  word: string;
  meant: string;
}

/**
 * The words of `text` outside `lexicon` (and not a lexicon word with an ending such as -s, -ed or
 * -ing), or listed in `typos`, that are one typo from one of `decisive` (five letters or more; the
 * word four letters or more), each with every decisive word it may stand for.
 */
export function misspellings(
  field: string,
  text: string,
  lexicon: Lexicon,
  decisive: readonly string[],
  typos: ReadonlySet<string> = new Set(),
): Misspelling[] {
  const out: Misspelling[] = [];
  for (const word of new Set(textWords(text))) {
    if (word.length < MIN_DECISIVE - 1 || (knownForm(word, lexicon) && !typos.has(word))) continue;
    for (const meant of decisive)
      if (meant.length >= MIN_DECISIVE && oneEditApart(word, meant)) out.push({ field, word, meant });
  }
  return out;
}

/**
 * `text` with every whole-word occurrence of `word` (as textWords reads it, any case) spelt
 * `meant`; the text unchanged when `word` is not in it letter for letter (an accented spelling).
 */
export function respell(text: string, word: string, meant: string): string {
  return text.replace(new RegExp(`(?<![\\p{L}'])${word}(?![\\p{L}])`, 'giu'), meant);
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

/**
 * Screened words: a selective-prediction signal that reads the text, not the model. A policy gives
 * some words a meaning that decides the case (the lending policy rejects gambling, betting, crypto
 * speculation and repaying payday loans). The model learned those meanings from its training
 * texts and can miss them in wording it never saw: "National Lottery syndicate" approved at 0.99.
 * A model folder's config.json may list such words (`screen.words`) and the answers they cast doubt
 * on (`screen.labels`); an automated answer with one of those labels whose free text holds one of
 * the words goes to a person, with the word in the reason. It never decides a case, so a
 * negation ("not for gambling") costs a review, not a wrong answer.
 *
 * A word is matched as whole words of the text (textWords: lowercase letter runs, accents
 * dropped); a phrase of several words matches them in a row; a trailing `*` matches every word
 * that begins with it ("gambl*": gamble, gambling, gambler). No typo matching: one letter away from
 * "betting" is "setting" and "letting".
 *
 * The text is read through the disguises a hostile applicant uses to slip a word past a list
 * (`screenReadings`): letters from other scripts that look Latin ("саsino" with Cyrillic с and а),
 * fullwidth letters and invisible characters (the `confusables` package's table), letters spaced or
 * dotted out ("G A M B L I N G", "c.a.s.i.n.o"), and digits or symbols for letters inside a word
 * ("b3tting", "casin0", "g@mbling", "ca$ino"). The model read every one of these as an ordinary
 * purpose, approving "c.a.s.i.n.o" at 0.989 and "G A M B L I N G" at 0.991.
 */
import { remove as removeConfusables } from 'confusables';
import { textWords } from './familiarity.ts';

/** Digits and symbols that stand for letters inside a word; `1` is tried as both i and l. */
const LEET: Record<string, string> = { '0': 'o', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's' };

/** Three or more single letters in a row, each followed by one separator: "g a m b l e", "c.a.s.i.n.o". */
const SPELLED_OUT = /(?<![A-Za-z])(?:[A-Za-z][ .\-_*·]){2,}[A-Za-z](?![A-Za-z])/g;
/** A token of letters, digits and the symbols above, with at least two letters. */
const MIXED_TOKEN = /[A-Za-z0-9@$]*[A-Za-z][A-Za-z0-9@$]*/g;

/**
 * The word sequences a screen matches in `text`: its words as written, and (when it holds a
 * disguise) as read through it. `1` inside a word gives one reading with i and one with l.
 */
export function screenReadings(text: string): string[][] {
  const plain = textWords(text);
  const undone = removeConfusables(text).replace(SPELLED_OUT, (letters) => letters.replace(/[^A-Za-z]/g, ''));
  const readings = [plain];
  for (const one of undone.includes('1') ? ['i', 'l'] : ['i']) {
    const read = undone.replace(MIXED_TOKEN, (token) =>
      /[0-9@$]/.test(token) && /[A-Za-z].*[A-Za-z]/.test(token)
        ? token.replace(/[0-9@$]/g, (c) => (c === '1' ? one : (LEET[c] ?? c)))
        : token,
    );
    const words = textWords(read);
    if (words.join(' ') !== plain.join(' ')) readings.push(words);
  }
  return readings;
}

export interface ScreenSettings {
  /** Answers that a screened word sends to review (the loan model: approve). */
  labels: string[];
  /** Words and phrases; a trailing `*` makes the last word a prefix. */
  words: string[];
  /** What the words stand for, said in the reason (e.g. "a purpose the lending policy forbids"). */
  meaning: string;
}

/**
 * Why `settings` cannot be used, or null when it can (checked when the model folder loads);
 * `field` is its key in config.json (`screen`, or `instructions`, which has the same shape).
 */
export function screenError(settings: unknown, field = 'screen'): string | null {
  if (settings === undefined) return null;
  const s = settings as Partial<ScreenSettings>;
  if (typeof s !== 'object' || s === null) return `${field} must be an object`;
  if (!Array.isArray(s.labels) || s.labels.some((l) => typeof l !== 'string')) return `${field}.labels must be strings`;
  if (!Array.isArray(s.words) || s.words.length === 0) return `${field}.words must be a non-empty list`;
  const bad = s.words.find((w) => typeof w !== 'string' || patternOf(w).length === 0);
  if (bad !== undefined) return `${field}.words has ${JSON.stringify(bad)}, which has no letters to match`;
  // Texts are read as runs of letters, so "2 guys" would match every "guys".
  const digits = s.words.find((w) => /\d/.test(w));
  if (digits !== undefined)
    return `${field}.words has ${JSON.stringify(digits)}: texts are matched as words of letters, so its digits would be ignored (spell the number: "two guys")`;
  if (typeof s.meaning !== 'string' || !s.meaning.trim()) return `${field}.meaning must say what the words stand for`;
  return null;
}

interface Pattern {
  word: string;
  parts: string[];
  prefix: boolean;
}

function patternOf(word: string): string[] {
  return typeof word === 'string' ? textWords(word.replace(/\*$/, '')) : [];
}

export class Screen {
  readonly #labels: Set<string>;
  readonly #patterns: Pattern[];
  readonly meaning: string;

  constructor(settings: ScreenSettings) {
    this.#labels = new Set(settings.labels);
    this.#patterns = settings.words.map((word) => ({
      word,
      parts: patternOf(word),
      prefix: word.endsWith('*'),
    }));
    this.meaning = settings.meaning;
  }

  /** The first screened word in `text` (read through its disguises); null when there is none. */
  find(text: string): string | null {
    for (const words of screenReadings(text)) {
      const word = this.#findIn(words);
      if (word) return word;
    }
    return null;
  }

  #findIn(words: string[]): string | null {
    for (let i = 0; i < words.length; i++) {
      for (const { parts, prefix } of this.#patterns) {
        if (i + parts.length > words.length) continue;
        const last = parts.length - 1;
        const hit = parts.every((part, j) =>
          j === last && prefix ? words[i + j]!.startsWith(part) : words[i + j] === part,
        );
        if (hit) return words.slice(i, i + parts.length).join(' ');
      }
    }
    return null;
  }

  /** The review reason for an automated `label` on free-text `fields`, or null when it stands. */
  reason(label: string, fields: Record<string, string>): string | null {
    if (!this.#labels.has(label)) return null;
    for (const [field, text] of Object.entries(fields)) {
      const word = this.find(text);
      if (word) return `${field} mentions '${word}', ${this.meaning}: a person checks the answer ${label}`;
    }
    return null;
  }
}

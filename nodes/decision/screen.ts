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
 */
import { textWords } from './familiarity.ts';

export interface ScreenSettings {
  /** Answers that a screened word sends to review (the loan model: approve). */
  labels: string[];
  /** Words and phrases; a trailing `*` makes the last word a prefix. */
  words: string[];
  /** What the words stand for, said in the reason (e.g. "a purpose the lending policy forbids"). */
  meaning: string;
}

/** Why `settings` cannot be used, or null when it can (checked when the model folder loads). */
export function screenError(settings: unknown): string | null {
  if (settings === undefined) return null;
  const s = settings as Partial<ScreenSettings>;
  if (typeof s !== 'object' || s === null) return 'screen must be an object';
  if (!Array.isArray(s.labels) || s.labels.some((l) => typeof l !== 'string')) return 'screen.labels must be strings';
  if (!Array.isArray(s.words) || s.words.length === 0) return 'screen.words must be a non-empty list';
  const bad = s.words.find((w) => typeof w !== 'string' || patternOf(w).length === 0);
  if (bad !== undefined) return `screen.words has ${JSON.stringify(bad)}, which has no letters to match`;
  // Texts are read as runs of letters, so "2 guys" would match every "guys".
  const digits = s.words.find((w) => /\d/.test(w));
  if (digits !== undefined)
    return `screen.words has ${JSON.stringify(digits)}: texts are matched as words of letters, so its digits would be ignored (spell the number: "two guys")`;
  if (typeof s.meaning !== 'string' || !s.meaning.trim()) return 'screen.meaning must say what the words stand for';
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

  /** The first screened word in `text`, as the text spells it; null when there is none. */
  find(text: string): string | null {
    const words = textWords(text);
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

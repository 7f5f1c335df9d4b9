/**
 * Unvouched words: a selective-prediction signal for an answer that rests on a text meaning nothing
 * in particular. The shipped order model routes "Make it snappy", "I'm in a real bind here" and
 * "Put your foot down on this one" to the warehouse at 0.97-0.997 for a parcel an urgent note
 * would send by courier: it reads every note it cannot place as an ordinary one, and an ordinary
 * note is what warehouse means there. No other check sees it: the words are English, the note
 * reads the same in parts and in copies, and its nearest labelled texts are ordinary ones.
 *
 * What the model can vouch for is the words it saw in texts of each meaning. A model folder may
 * ship, per word, how many of its training texts of each intent hold it (`vouch.file`, a TSV
 * written by models/vouch.ts: a header `word` and the intents, then a word and its counts per
 * line, or a word alone for a word no training text holds). An automated answer that the written
 * policy rules out for some intent `vouch.against` names for it (the nearest-texts check's `never`
 * table, neighbours.ts, for the case's fields) stands only when every word of its free text occurs
 * in at least `vouch.min` training texts of the intents that allow it: a word only ever seen in
 * urgent notes ("now"), or never seen at all ("snappy"), may carry the meaning that rules the
 * answer out, and the model's confidence says nothing about it.
 *
 * A misspelt ordinary word is still ordinary ("plese", "botom", "floore"): a word the file does not
 * list, of four letters or more, that is one typo (a letter inserted, deleted or changed, or two
 * neighbours swapped) from a vouched word reads as that word. The file lists, each alone on its
 * line, the English words one typo from a training word that no training text holds, so that
 * "clock" is not read as "block": models/vouch.ts takes them from WordNet. A possessive ("dog's")
 * reads as its word.
 *
 * `vouch.unless` lists FEEL conditions over the grounding readings (grounding.ts: the case's text
 * on reference fields, each reading's name a variable holding its label, null when it does not
 * count). When they all hold the answer stands: for the order model, `soon = "warehouse"` means
 * the model reads the note as a bulky parcel, which goes from the warehouse whatever else the note
 * says, so a sofa's make ("Chesterfield sofa, needs a two-man team") costs no review. The readings
 * are scored only for a case that has an unvouched word.
 *
 * Like the other checks it never decides a case; it sends an automated answer to a person, with the
 * words in the reason.
 */
import { textWords } from './familiarity.ts';
import { MAX_READ_CHARS } from './neighbours.ts';
import { Requirements, requiresError } from './requires.ts';

export interface VouchSettings {
  /** Per word, training texts of each intent that hold it: a TSV file in the model folder. */
  file: string;
  /** A word needs at least this many training texts of the intents that allow the answer. */
  min: number;
  /** Per answer, the intents whose ruling it out calls for the check (neighbours.never decides which rule it out). */
  against: Record<string, string[]>;
  /** FEEL conditions over the grounding readings under which the answer stands anyway. */
  unless?: string[];
}

/** Why `settings` cannot be used, or null when it can (checked when the model folder loads). */
export function vouchError(
  settings: unknown,
  labels: readonly string[],
  readings: readonly string[] | null,
  hasNeighbours: boolean,
): string | null {
  if (settings === undefined) return null;
  const s = settings as Partial<VouchSettings>;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return 'vouch must be an object';
  if (typeof s.file !== 'string' || !/^[\w.-]+$/.test(s.file) || s.file.startsWith('.'))
    return 'vouch.file must be a file name in the model folder';
  if (!Number.isInteger(s.min) || s.min! < 1) return 'vouch.min must be a whole number of at least 1';
  if (typeof s.against !== 'object' || s.against === null || Array.isArray(s.against) || !Object.keys(s.against).length)
    return 'vouch.against must map answers to the intents whose ruling them out calls for the check';
  for (const [label, intents] of Object.entries(s.against)) {
    if (!labels.includes(label)) return `vouch.against names '${label}', which is not one of the labels`;
    if (!Array.isArray(intents) || intents.length === 0 || !intents.every((i) => typeof i === 'string'))
      return `vouch.against.${label} must list intents`;
  }
  if (!hasNeighbours) return "vouch needs the nearest-texts check's never table (config.json `neighbours`)";
  if (s.unless !== undefined) {
    if (!readings) return 'vouch.unless reads the grounding readings: config.json has no `grounding`';
    const names = Object.fromEntries(readings.map((name) => [name, { type: 'enum' }]));
    const bad = requiresError({ stands: s.unless }, ['stands'], names, 'vouch.unless');
    if (bad) return bad;
  }
  return null;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** The longest word read as a misspelling of a vouched one. */
export const MAX_TYPO_LETTERS = 24;

/** Every string one typo from `word`: a letter inserted, deleted or changed, or two neighbours swapped. */
export function oneTypo(word: string): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i <= word.length; i++) {
    for (const c of LETTERS) {
      out.add(word.slice(0, i) + c + word.slice(i));
      if (i < word.length && c !== word[i]) out.add(word.slice(0, i) + c + word.slice(i + 1));
    }
    if (i < word.length) out.add(word.slice(0, i) + word.slice(i + 1));
    if (i + 1 < word.length) out.add(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
  }
  out.delete(word);
  return out;
}

/** One free-text field's words that no training text of an allowed intent holds often enough. */
export interface Unvouched {
  field: string;
  words: string[];
  /** The intents whose training texts were asked to vouch. */
  allowed: string[];
}

export class Vouch {
  readonly settings: VouchSettings;
  readonly #intents: string[];
  readonly #counts: Map<string, number[]>;
  readonly #unless: Requirements | null;

  constructor(intents: string[], counts: Map<string, number[]>, settings: VouchSettings) {
    this.settings = settings;
    this.#intents = intents;
    this.#counts = counts;
    this.#unless = settings.unless ? new Requirements({ stands: settings.unless }) : null;
  }

  /** Reads the words file (a header `word<TAB>intent...`, then a word and whole counts per line, or a word alone for none); throws with the line number on a bad one. */
  static parse(tsv: string, settings: VouchSettings): Vouch {
    const lines = tsv.split('\n').filter((line) => line.trim());
    const header = lines[0]?.split('\t') ?? [];
    if (header[0] !== 'word' || header.length < 2)
      throw new Error(`${settings.file}: the first line must be 'word' and the intents, tab-separated`);
    const intents = header.slice(1);
    for (const intent of Object.values(settings.against).flat())
      if (!intents.includes(intent))
        throw new Error(`vouch.against names '${intent}', which ${settings.file} does not count`);
    const counts = new Map<string, number[]>();
    lines.slice(1).forEach((line, i) => {
      const [word, ...cells] = line.split('\t');
      // A word alone: an English word no training text holds (zero counts).
      const numbers = cells.length === 0 ? intents.map(() => 0) : cells.map(Number);
      if (!word || numbers.length !== intents.length || !numbers.every((n) => Number.isInteger(n) && n >= 0))
        throw new Error(`${settings.file}:${i + 2} needs a word and ${intents.length} whole counts, or a word alone`);
      counts.set(word, numbers);
    });
    return new Vouch(intents, counts, settings);
  }

  get words(): number {
    return this.#counts.size;
  }

  /**
   * The fields with words no allowed intent vouches for, for an answer `label` whose ruled-out
   * intents (`ruledOut`, from neighbours.never) include one of its `against`; empty when it stands.
   */
  unvouched(label: string, ruledOut: readonly string[], fields: Record<string, string>): Unvouched[] {
    if (!this.settings.against[label]?.some((intent) => ruledOut.includes(intent))) return [];
    const allowed = this.#intents.flatMap((intent, i) => (ruledOut.includes(intent) ? [] : [i]));
    const vouches = (word: string) => {
      const counts = this.#counts.get(word);
      return counts !== undefined && allowed.reduce((sum, i) => sum + counts[i]!, 0) >= this.settings.min;
    };
    const out: Unvouched[] = [];
    for (const [field, text] of Object.entries(fields)) {
      // The start of a longer text, as the nearest-texts check reads it: each unvouched word costs a
      // few hundred lookups (its one-typo spellings).
      const words = [...new Set(textWords(text.slice(0, MAX_READ_CHARS)))].filter((word) => {
        if (vouches(word) || (word.endsWith("'s") && vouches(word.slice(0, -2)))) return false;
        // A word the file lists (a training word, or an English word one typo from one) is itself.
        if (this.#counts.has(word)) return true;
        // No word of the training texts is longer than MAX_TYPO_LETTERS, and a long run of letters
        // would cost 52 spellings a letter, each as long as the run.
        return word.length < 4 || word.length > MAX_TYPO_LETTERS || ![...oneTypo(word)].some(vouches);
      });
      if (words.length > 0) out.push({ field, words, allowed: allowed.map((i) => this.#intents[i]!) });
    }
    return out;
  }

  /** Whether the readings' labels (null where a reading does not count) let the answer stand. */
  stands(readings: Record<string, string | null>): boolean {
    return this.#unless !== null && this.#unless.unmet('stands', readings) === null;
  }

  /** Whether the check reads the grounding readings before it sends a case to a person. */
  get readsGrounding(): boolean {
    return this.#unless !== null;
  }

  /** The review reason for `label` with these unvouched fields (the first field's words, five at most). */
  reason(label: string, ruledOut: readonly string[], unvouched: Unvouched[]): string {
    const { field, words, allowed } = unvouched[0]!;
    const against = this.settings.against[label]!.filter((intent) => ruledOut.includes(intent));
    const shown = words
      .slice(0, 5)
      .map((w) => `'${w}'`)
      .join(', ');
    return `${field} has ${shown}${words.length > 5 ? ` and ${words.length - 5} more` : ''}, in no training text of intent ${allowed.join(' or ')}: the model cannot vouch that the text is not ${against.join(' or ')}, which rules out ${label} for this case: a person checks the answer ${label}`;
  }
}

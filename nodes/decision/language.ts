/**
 * Text in another language: a selective-prediction signal that reads the text, not the model. A
 * model trained on English texts answers German or Polish ones with the same confidence as English
 * ones ("neue Küche", "Hochzeit" and "Renovierung" were approved at 0.98–0.99), and the
 * unfamiliar-word count (familiarity.ts) misses them when they are short: one or two words, each a
 * letter away from an English one.
 *
 * A model folder's config.json may name the language its texts were written in (`language: "en"`,
 * an ISO 639-1 code). A free-text value then goes to a person when a language detector (eld, an
 * n-gram detector for 60 languages) reads it as another language and at least half of its words
 * are not, letter for letter, words of the training texts (lexicon.txt). The second condition keeps
 * most English texts that the detector misreads (abbreviations such as "Plt del. to GI", a brand
 * in "New Worcester Bosch combi boiler") from review: on the hand-written, natural and generated
 * English texts it at least halves the detector's false alarms (docs/decisions.md, "Measured").
 * Letters of other scripts (Cyrillic, Han, Arabic ...) are no words of the lexicon: each run of
 * them counts as an unknown word, so "новая кухня" and "新车" are asked about too.
 */
import type { Lexicon } from './familiarity.ts';
import { textWords } from './familiarity.ts';

const displayNames = new Intl.DisplayNames(['en'], { type: 'language' });

/** The English name of an ISO 639-1 code ("de" -> German). */
export function languageName(code: string): string {
  return displayNames.of(code) ?? code;
}

/** A run of letters of a script other than Latin (Cyrillic, Greek, Arabic, Hebrew, Han, Hangul ...). */
const OTHER_SCRIPT = /(?:(?!\p{Script=Latin})\p{L})+/gu;

/** The detector's languages written in Latin letters. */
const LATIN_SCRIPT = new Set(
  'az ca cs da de en es et eu fi fr hr hu is it ku lt lv ms nl no pl pt ro sk sl sq sv tl tr vi yo'.split(' '),
);

/** Share of a text's words that must be missing from the lexicon before the detector is asked. */
export const MIN_UNKNOWN_SHARE = 0.5;

/** The languages the detector knows, by ISO 639-1 code (a test checks them against eld.info()). */
export const DETECTABLE_LANGUAGES: ReadonlySet<string> = new Set(
  'am ar az be bg bn ca cs da de el en es et eu fa fi fr gu he hi hr hu hy is it ja ka kn ko ku lo lt lv ml mr ms nl no or pa pl pt ro ru sk sl sq sr sv ta te th tl tr uk ur vi yo zh'.split(
    ' ',
  ),
);

/** Reads a text's language: ISO 639-1, or '' when it cannot tell. */
export type LanguageDetector = (text: string) => string;

let detector: Promise<LanguageDetector> | null = null;

/**
 * The detector, loaded on first use: its n-gram database costs about 30 MB of heap (90 MB
 * resident) and 0.2 s, which only a process that loads a model with `language` should pay.
 */
export function languageDetector(): Promise<LanguageDetector> {
  detector ??= import('eld/extrasmall').then(
    ({ eld }) =>
      (text: string) =>
        eld.detect(text).language,
  );
  return detector;
}

/** Why `language` cannot be used as config.json's `language`, or null when it can. */
export function languageError(language: unknown): string | null {
  if (language === undefined) return null;
  if (typeof language !== 'string' || !DETECTABLE_LANGUAGES.has(language))
    return `language must be one of the ISO 639-1 codes the detector knows (${[...DETECTABLE_LANGUAGES].sort().join(', ')}), not ${JSON.stringify(language)}`;
  return null;
}

/**
 * A review reason when `text` reads as a language other than `expected` and at least half of its
 * words are missing from `lexicon` (all of them count as missing when there is no lexicon), else null.
 */
export function languageReason(
  field: string,
  text: string,
  expected: string,
  lexicon: Lexicon | null,
  detect: LanguageDetector,
): string | null {
  const words = textWords(text);
  // Letters of other scripts are no words of an English lexicon: each run of them counts as an unknown word.
  const otherScript = text.match(OTHER_SCRIPT)?.length ?? 0;
  const total = words.length + otherScript;
  if (total === 0) return null;
  const unknown = (lexicon ? words.filter((w) => !lexicon.has(w)).length : words.length) + otherScript;
  if (unknown / total < MIN_UNKNOWN_SHARE) return null;
  const detected = detect(text);
  if (detected === expected) return null;
  if (detected === '') {
    // The detector cannot place it ("新车", "새 차"), but a text mostly in another script is not the
    // language of a model whose texts are in Latin letters.
    if (!LATIN_SCRIPT.has(expected) || otherScript * 2 < total) return null;
    return `${field} is written in another script than the ${languageName(expected)} the model was trained on: a person reads it`;
  }
  return `${field} reads as ${languageName(detected)} (${detected}), not the ${languageName(expected)} the model was trained on: a person reads it`;
}

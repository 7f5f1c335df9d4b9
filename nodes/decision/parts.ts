/**
 * Mixed signals as a selective-prediction signal: an automated answer is checked on each part of
 * the free text read alone (its sentences and clauses). A note that asks for two things ("Urgent
 * please, and ring the bell twice") is read by a model that has learned where the decisive words
 * usually sit; when one part alone is read confidently as a label the whole is not given, and that
 * label is not the one the case gets with the field left blank (what a part with nothing decisive
 * in it reads as: "ring the bell twice" is an ordinary order), the parts disagree with the whole and
 * a person reads the case.
 */

export interface PartsSettings {
  /** How sure a part read alone must be of its other label to count; default the review threshold. */
  confidence?: number;
  /** Most parts read per text field (the first ones); a text with more is read in its first `maxParts`. Default 6. */
  maxParts?: number;
}

/** Splits at sentence ends, semicolons, commas, dashes and the conjunctions that join two requests. */
const BOUNDARY =
  /(?<=[.!?…])\s+|\s*[;,:]\s+|\s+[-–—]+\s+|\s+(?=\b(?:but|and then|although|though|however|otherwise|plus|also)\b)/iu;

/** The parts of `text` worth reading alone (two letters or more each); none when it has fewer than two. */
export function textParts(text: string, maxParts = 6): string[] {
  const parts = text
    .split(BOUNDARY)
    .map((part) => part.trim())
    .filter((part) => (part.match(/\p{L}/gu)?.length ?? 0) >= 2);
  const unique = [...new Set(parts)];
  return unique.length >= 2 ? unique.slice(0, Math.max(2, maxParts)) : [];
}

/** Why a config.json `parts` value is not valid; null when it is (or absent). */
export function partsError(settings: unknown): string | null {
  if (settings === undefined) return null;
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
    return 'parts must be an object { confidence?, maxParts? }';
  const { confidence, maxParts, ...rest } = settings as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) return `parts has unknown settings: ${unknown.join(', ')} (confidence, maxParts)`;
  if (confidence !== undefined && !(typeof confidence === 'number' && confidence > 0 && confidence <= 1))
    return 'parts.confidence must be a number in (0, 1]';
  if (
    maxParts !== undefined &&
    !(Number.isInteger(maxParts) && (maxParts as number) >= 2 && (maxParts as number) <= 32)
  )
    return 'parts.maxParts must be a whole number from 2 to 32';
  return null;
}

/**
 * Long free text, read in parts. The model reads a text input up to its `maxChars` and the whole
 * prompt up to `maxLength` tokens; a longer text is cut, and what the model did not read could
 * change the answer. Rather than send every long note to a person, the agent reads the text again
 * from further on, window after window, each starting half-way through what the one before read
 * (at a word), until a window reads to the end. The answer is acted on only when every window, read
 * with the case's own fields, gives it at or above the threshold: a decisive phrase anywhere in the
 * text makes its window disagree, and a phrase that spans two windows is whole in the overlap.
 * A text that needs more than MAX_WINDOWS windows stays cut, and goes to review.
 */

/** One part of a text as the model read it: characters [start, end) of the whole text, its whitespace runs made one space. */
export interface TextWindow {
  start: number;
  end: number;
  label: string;
  confidence: number;
}

/** The most windows read for one text (the first is the case as it is): about 750 characters of ordinary English for the shipped models. */
export const MAX_WINDOWS = 4;

/**
 * Where the next window starts, or null when the window at `start` read to the end of `text`.
 * `read` is how many characters from `start` the model read. The next window starts half-way
 * through them, moved forward to the start of a word; it always starts after `start`.
 */
export function nextWindowStart(text: string, start: number, read: number): number | null {
  if (start + read >= text.trimEnd().length) return null;
  const half = start + Math.max(1, Math.floor(read / 2));
  let next = half;
  while (next < start + read && !(/\s/.test(text[next - 1]!) && /\S/.test(text[next]!))) next++;
  if (next < start + read) return next;
  // One word longer than the whole window: start in the middle of it, not inside a surrogate pair.
  return /[\uDC00-\uDFFF]/.test(text[half]!) ? half + 1 : half;
}

/** True when every window gives `label` at `threshold` or more. */
export function windowsAgree(windows: TextWindow[], label: string, threshold: number): boolean {
  return windows.every((w) => w.label === label && w.confidence >= threshold);
}

/** The review reason of a text whose windows do not all give `label` at `threshold` or more. */
export function windowsReason(field: string, windows: TextWindow[], label: string, threshold: number): string {
  const parts = windows.map((w) => `${w.start}-${w.end}: ${w.label} ${w.confidence.toFixed(3)}`).join(', ');
  return `${field} is longer than the model reads at once: read in ${windows.length} overlapping parts, not every part gives ${label} at ${threshold} or more (${parts})`;
}

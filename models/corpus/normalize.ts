/** Normalization and deduplication of corpus documents: one document per line of plain text. */

const PUNCTUATION: [RegExp, string][] = [
  [/[\u2018\u2019\u201b\u2032`]/g, "'"],
  [/[\u201c\u201d\u201f\u2033]/g, '"'],
  [/[\u2013\u2014\u2212]/g, '-'],
  [/\u2026/g, '...'],
];

/**
 * One line of plain text: NFKC, typographic quotes and dashes as ASCII, control characters
 * removed, every run of whitespace (line breaks included) one space.
 */
export function normalizeDocument(text: string): string {
  let out = text.normalize('NFKC');
  for (const [pattern, replacement] of PUNCTUATION) out = out.replace(pattern, replacement);
  // eslint-disable-next-line no-control-regex
  return out
    .replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A document worth training on: at least three words, and mostly letters rather than art or tables. */
export function isProse(document: string): boolean {
  if (document.split(' ').length < 3) return false;
  const letters = document.match(/\p{L}/gu)?.length ?? 0;
  return letters / document.replace(/ /g, '').length >= 0.6;
}

/** The key two documents share when they are the same text up to case, spacing and punctuation. */
export function dedupKey(document: string): string {
  return document
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * Normalizes `documents`, keeps the prose, and drops any whose key `seen` already holds (adding
 * the new keys), so sources read in order share one deduplication.
 */
export function cleanDocuments(documents: string[], seen: Set<string>): string[] {
  const kept: string[] = [];
  for (const raw of documents) {
    const document = normalizeDocument(raw);
    if (!isProse(document)) continue;
    const key = dedupKey(document);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(document);
  }
  return kept;
}

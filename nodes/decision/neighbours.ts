/**
 * Nearest labelled texts: a second reader of the free text, beside the model. The model learned
 * what a purpose means from its training texts and can misread wording it never saw: the shipped
 * loan model approves "a franchise of a coffee chain, first unit", "movin 2 spain nxt yr" and
 * "NEW BUSINESS VENTURE" at 0.97-0.98 for a strong applicant, although the lending policy sends a
 * new business or a move abroad to a person. The texts people wrote for training say otherwise:
 * the ones nearest to these ("a Costa franchise", "moving to Spain for good", "STARTING A
 * BUSINESS") are all labelled `uncertain`.
 *
 * A model folder's config.json may name a file of labelled texts (`neighbours.file`, one JSON
 * object `{ text, intent }` per line: the hand-written training texts) and, per answer and per
 * intent, FEEL conditions on the declared inputs under which the written policy does not give that
 * answer to a text of that intent (`neighbours.never`; `["true"]`: whatever the fields). The
 * lending policy never approves a prohibited or an uncertain purpose; the routing policy sends an
 * urgent parcel by courier only within 300 km or a close deadline. An automated answer whose free
 * text has, among its `k` nearest labelled texts, at least `share` of their similarity in intents
 * that rule it out for the case's fields goes to a person, with the nearest such text in the
 * reason. Like the other checks it never decides a case.
 *
 * Texts are compared as TF-IDF vectors of their words and of the character 3- to 5-grams of their
 * lowercased, accent-free letters and digits, by cosine similarity: character n-grams match
 * inflections and most misspellings ("bussines", "franchize"), words keep whole-word matches
 * ahead. No learned embedding: the reader is the labelled texts themselves, so a deployment
 * teaches it a new wording by adding a line.
 */

import { Requirements, requiresError } from './requires.ts';

export interface NeighbourSettings {
  /** The labelled texts, a file in the model folder: one `{ "text", "intent" }` object per line. */
  file: string;
  /** How many nearest texts are read. */
  k: number;
  /** The share of the k texts' similarity, in (0, 1], in intents that rule an answer out, from which it goes to review. */
  share: number;
  /** Per answer and intent, FEEL conditions on the declared inputs under which the written policy does not give that answer (`["true"]`: never). */
  never: Record<string, Record<string, string[]>>;
}

/** One labelled text near a free text, with its cosine similarity. */
export interface Neighbour {
  text: string;
  intent: string;
  similarity: number;
}

/** Why `settings` cannot be used with these `labels` and declared `inputs`, or null when it can (checked at load). */
export function neighboursError(settings: unknown, labels: string[], inputs?: object): string | null {
  if (settings === undefined) return null;
  const s = settings as Partial<NeighbourSettings>;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return 'neighbours must be an object';
  if (typeof s.file !== 'string' || !/^[\w.-]+$/.test(s.file) || s.file.startsWith('.'))
    return 'neighbours.file must be a file name in the model folder';
  if (!Number.isInteger(s.k) || s.k! < 1 || s.k! > 100) return 'neighbours.k must be a whole number from 1 to 100';
  if (typeof s.share !== 'number' || !(s.share > 0 && s.share <= 1)) return 'neighbours.share must be in (0, 1]';
  if (typeof s.never !== 'object' || s.never === null || Array.isArray(s.never))
    return 'neighbours.never must map answers to intents and their FEEL conditions';
  for (const [label, intents] of Object.entries(s.never)) {
    if (!labels.includes(label)) return `neighbours.never names '${label}', which is not one of the labels`;
    if (typeof intents !== 'object' || intents === null || Array.isArray(intents) || Object.keys(intents).length === 0)
      return `neighbours.never.${label} must map intents to lists of FEEL conditions`;
    const bad = requiresError(intents, Object.keys(intents), inputs, `neighbours.never.${label}`);
    if (bad) return bad;
  }
  return null;
}

/**
 * How much of a text is read: the start of a longer one (a text is never refused for length, and
 * reading a megabyte costs about 0.3 s; the model itself reads 400 characters, or a few windows).
 */
export const MAX_READ_CHARS = 10_000;

/** Lowercase letters and digits, accents dropped, runs of anything else as one space. */
function normalise(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A text's terms and their counts: each word (weighted 2) and each character 3- to 5-gram. */
function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (term: string, n: number) => counts.set(term, (counts.get(term) ?? 0) + n);
  const normal = normalise(text.slice(0, MAX_READ_CHARS));
  if (!normal) return counts;
  const padded = ` ${normal} `;
  for (let n = 3; n <= 5; n++) for (let i = 0; i + n <= padded.length; i++) add(padded.slice(i, i + n), 1);
  for (const word of normal.split(' ')) add(`w:${word}`, 2);
  return counts;
}

export class TextNeighbours {
  readonly settings: NeighbourSettings;
  /** Per answer, the conditions of `never`, ready to check (keyed by intent). */
  readonly #never: Map<string, Requirements>;
  readonly #texts: { text: string; intent: string }[];
  /** Inverse document frequency of each term of the labelled texts. */
  readonly #idf = new Map<string, number>();
  /**
   * For each term, the labelled texts that have it (ascending) and its weight in their unit vector,
   * as two arrays of one length: no object per entry, so a folder loads without a pause to collect
   * a few hundred thousand of them.
   */
  readonly #postings = new Map<string, { docs: number[]; weights: number[] }>();

  constructor(texts: { text: string; intent: string }[], settings: NeighbourSettings) {
    this.settings = settings;
    this.#never = new Map(Object.entries(settings.never).map(([label, intents]) => [label, new Requirements(intents)]));
    this.#texts = texts;
    const counts = texts.map((t) => termCounts(t.text));
    const df = new Map<string, number>();
    for (const c of counts) for (const term of c.keys()) df.set(term, (df.get(term) ?? 0) + 1);
    for (const [term, n] of df) this.#idf.set(term, Math.log((texts.length + 1) / (n + 1)));
    counts.forEach((c, doc) => {
      const { terms, weights } = this.#vector(c);
      for (let i = 0; i < terms.length; i++) {
        const list = this.#postings.get(terms[i]!);
        if (list) list.docs.push(doc), list.weights.push(weights[i]!);
        else this.#postings.set(terms[i]!, { docs: [doc], weights: [weights[i]!] });
      }
    });
  }

  /**
   * Reads a labelled-texts file (`{ text, intent }` per line); throws with the line number on a
   * malformed one.
   */
  static parse(jsonl: string, settings: NeighbourSettings): TextNeighbours {
    const texts: { text: string; intent: string }[] = [];
    jsonl.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let row: { text?: unknown; intent?: unknown };
      try {
        row = JSON.parse(line);
      } catch {
        throw new Error(`${settings.file}:${i + 1} is not JSON`);
      }
      if (typeof row.text !== 'string' || typeof row.intent !== 'string')
        throw new Error(`${settings.file}:${i + 1} needs "text" and "intent" strings`);
      texts.push({ text: row.text, intent: row.intent });
    });
    if (texts.length < settings.k) throw new Error(`${settings.file} has ${texts.length} texts, fewer than k`);
    return new TextNeighbours(texts, settings);
  }

  get size(): number {
    return this.#texts.length;
  }

  /**
   * The unit TF-IDF vector of term counts, as its terms and their weights (two arrays of one
   * length, no Map per text); terms the labelled texts never have weigh nothing.
   */
  #vector(counts: Map<string, number>): { terms: string[]; weights: number[] } {
    const terms: string[] = [];
    const weights: number[] = [];
    let norm = 0;
    for (const [term, count] of counts) {
      const idf = this.#idf.get(term);
      if (!idf) continue;
      const weight = (1 + Math.log(count)) * idf;
      terms.push(term);
      weights.push(weight);
      norm += weight * weight;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < weights.length; i++) weights[i] = weights[i]! / norm;
    return { terms, weights };
  }

  /** The `k` labelled texts most like `text`, most similar first (fewer when fewer share a term). */
  nearest(text: string, k = this.settings.k): Neighbour[] {
    const scores = new Float64Array(this.#texts.length);
    const touched: number[] = [];
    const query = this.#vector(termCounts(text));
    query.terms.forEach((term, t) => {
      const list = this.#postings.get(term);
      if (!list) return;
      const weight = query.weights[t]!;
      for (let i = 0; i < list.docs.length; i++) {
        const doc = list.docs[i]!;
        if (scores[doc] === 0) touched.push(doc);
        scores[doc]! += weight * list.weights[i]!;
      }
    });
    // The k best of the touched texts, kept sorted (best first; on a tie, the earlier text).
    const best: number[] = [];
    const before = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b);
    for (const doc of touched) {
      if (best.length === k && !before(doc, best[k - 1]!)) continue;
      let i = best.length === k ? k - 1 : best.length;
      while (i > 0 && before(doc, best[i - 1]!)) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = doc;
    }
    return best.map((doc) => ({ ...this.#texts[doc]!, similarity: scores[doc]! }));
  }

  /**
   * The share of the similarity of `text`'s nearest labelled texts in `intents`, with those texts;
   * 0 when no labelled text shares a term with it.
   */
  shareIn(text: string, intents: readonly string[]): { share: number; neighbours: Neighbour[] } {
    const neighbours = this.nearest(text);
    const total = neighbours.reduce((sum, n) => sum + n.similarity, 0);
    const inside = neighbours.filter((n) => intents.includes(n.intent)).reduce((sum, n) => sum + n.similarity, 0);
    return { share: total > 0 ? inside / total : 0, neighbours };
  }

  /** The intents under which the written policy does not give `label` for a case with these `variables`. */
  ruledOut(label: string, variables: Record<string, unknown>): string[] {
    const conditions = this.#never.get(label);
    if (!conditions) return [];
    return Object.keys(this.settings.never[label]!).filter((intent) => conditions.unmet(intent, variables) === null);
  }

  /**
   * The review reason for an automated `label` on a case (`variables`) with free-text `fields`, or
   * null when it stands.
   */
  reason(label: string, fields: Record<string, string>, variables: Record<string, unknown>): string | null {
    const never = this.ruledOut(label, variables);
    if (never.length === 0) return null;
    for (const [field, text] of Object.entries(fields)) {
      const { share, neighbours } = this.shareIn(text, never);
      if (share < this.settings.share) continue;
      const first = neighbours.find((n) => never.includes(n.intent))!;
      const intents = [...new Set(neighbours.filter((n) => never.includes(n.intent)).map((n) => n.intent))];
      return `${field} reads like labelled texts of intent ${intents.join(' or ')} (${Math.round(share * 100)}% of its ${neighbours.length} nearest, e.g. ${JSON.stringify(first.text)}), under which the written policy does not answer ${label} for this case: a person checks the answer ${label}`;
    }
    return null;
  }
}

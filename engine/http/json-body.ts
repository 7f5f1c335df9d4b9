/**
 * JSON request bodies, read from the raw bytes in three linear passes that each cost a few
 * milliseconds for the largest body allowed: the bytes must be UTF-8, the nesting must stay within
 * `MAX_JSON_DEPTH` (counted before `JSON.parse`, which spends seconds on a million-deep body), and
 * after parsing every key and string must be storable in PostgreSQL (no U+0000, no lone surrogate)
 * and no key may poison prototypes later. Each refusal is a 400 whose details name the field.
 */
import { isUtf8 } from 'node:buffer';
import { OperonError } from '../errors.ts';

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of `[` and `{` outside strings, stopping as soon as it passes `limit`. */
export function jsonDepth(raw: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

// In unicode mode a surrogate pair is one code point; only an unpaired half matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Why a string cannot be stored (PostgreSQL text and jsonb refuse U+0000 and lone surrogates), or
 * undefined when it can.
 */
export function unstorableText(text: string): 'nul-character' | 'lone-surrogate' | undefined {
  if (text.includes('\u0000')) return 'nul-character';
  if (LONE_SURROGATE.test(text)) return 'lone-surrogate';
  return undefined;
}

const REASONS = {
  'nul-character': 'U+0000 is not allowed (PostgreSQL cannot store it)',
  'lone-surrogate': 'a lone UTF-16 surrogate is not valid Unicode',
} as const;

const MAY_HIDE_UNSAFE_TEXT = /\\u|__proto__|constructor/;

/** Throws a 400 naming `field` when `text` cannot be stored. */
export function requireStorableText(text: string, field: string): void {
  const reason = unstorableText(text);
  if (reason)
    throw new OperonError('OPERON_ERR_VALIDATION', `${field}: ${REASONS[reason]}`, { details: { field, reason } });
}

function fieldPath(path: readonly (string | number)[]): string {
  let field = 'body';
  for (const key of path) {
    if (typeof key === 'number') field += `[${key}]`;
    else field += /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return field;
}

function isPrototypeKey(key: string, entry: unknown): boolean {
  // Same rule as fastify's default parser (secure-json-parse): these keys can poison prototypes later.
  return (
    key === '__proto__' ||
    (key === 'constructor' && entry !== null && typeof entry === 'object' && 'prototype' in entry)
  );
}

/**
 * Checks every key and string of a parsed body; `path` is the way down, turned into a field name
 * only when something is refused. Depth is already bounded, so recursion is safe.
 */
function checkValue(value: unknown, path: (string | number)[]): void {
  if (typeof value === 'string') {
    if (unstorableText(value)) requireStorableText(value, fieldPath(path));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      checkValue(value[i], path);
      path.pop();
    }
    return;
  }
  for (const key in value) {
    const entry = (value as Record<string, unknown>)[key];
    path.push(key);
    if (isPrototypeKey(key, entry)) {
      const field = fieldPath(path);
      throw new OperonError('OPERON_ERR_VALIDATION', `${field}: the key "${key}" is not allowed`, {
        details: { field, reason: 'unsafe-key' },
      });
    }
    if (unstorableText(key)) requireStorableText(key, fieldPath(path));
    checkValue(entry, path);
    path.pop();
  }
}

/** Bodies larger than this are read one at a time, a pass per turn of the event loop (a 5 MB body costs about 100 ms in all). */
const LARGE_BODY_BYTES = 64 * 1024;

let largeBodyPasses: Promise<unknown> = Promise.resolve();

/**
 * Runs `pass` after every pass queued before it and after a full turn of the event loop. Eight
 * large bodies arriving together would otherwise each take their pass in the same turn, and a
 * health check waiting on I/O would wait for all of them; this way it waits for one at a time.
 */
function inOwnTurn<T>(pass: () => T): Promise<T> {
  const run = largeBodyPasses.then(() => new Promise((resolve) => setTimeout(resolve, 0))).then(pass);
  largeBodyPasses = run.catch(() => undefined);
  return run;
}

/**
 * Runs one CPU-bound pass over a request body (decoding, parsing, a signature): at once for a small
 * body, in its own turn of the event loop (see `inOwnTurn`) for a large one.
 */
export async function passOverBody<T>(raw: Buffer, pass: () => T): Promise<T> {
  return raw.length > LARGE_BODY_BYTES ? inOwnTurn(pass) : pass();
}

function decode(raw: Buffer, maxDepth: number): string {
  if (!isUtf8(raw))
    throw new OperonError('OPERON_ERR_MALFORMED_JSON', 'The request body is not valid UTF-8', {
      details: { field: 'body', reason: 'invalid-utf8' },
    });
  const depth = jsonDepth(raw, maxDepth);
  if (depth > maxDepth) {
    throw new OperonError(
      'OPERON_ERR_JSON_TOO_DEEP',
      `The request body nests arrays and objects deeper than ${maxDepth} levels`,
      { details: { field: 'body', limit: maxDepth } },
    );
  }
  return raw.toString('utf8');
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OperonError(
      'OPERON_ERR_MALFORMED_JSON',
      `The request body is not valid JSON: ${(error as Error).message}`,
      { details: { field: 'body' }, cause: error },
    );
  }
}

/** A JSON body from its raw bytes, or undefined when it is empty; rejects with a 400 OperonError when it is refused. */
export async function parseJsonBody(raw: Buffer, maxDepth = MAX_JSON_DEPTH): Promise<unknown> {
  const text = await passOverBody(raw, () => decode(raw, maxDepth));
  if (text.trim() === '') return undefined;
  const value = await passOverBody(raw, () => parse(text));
  // Without a \u escape the text cannot spell U+0000 or a surrogate (raw control characters are not
  // JSON and UTF-8 cannot encode surrogates), nor hide a prototype key: the walk is skipped.
  if (MAY_HIDE_UNSAFE_TEXT.test(text)) await passOverBody(raw, () => checkValue(value, []));
  return value;
}

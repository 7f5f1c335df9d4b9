/**
 * Prompt templates: `{name}` or `{path.to.field}` placeholders filled from the process variables.
 * Pure functions, shared by the runtime and by the training pipeline (so the model sees exactly the
 * prompts it will be asked at run time).
 */

const PLACEHOLDER = /\{([A-Za-z_][\w.]*)\}/g;

/** Names of the variables a template needs, in order of first use. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** The value at a dotted path (`stock.leeds`); undefined where a step is missing (own properties only). */
export function valueAt(variables: Record<string, unknown>, path: string): unknown {
  let value: unknown = variables;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A value as the prompt shows it: a string with its whitespace runs made one space and trimmed. */
export function format(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\s+/g, ' ').trim();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Where a free-text value sits in a rendered prompt (UTF-16 offsets), so the token budget can cut it. */
export interface TextSpan {
  name: string;
  start: number;
  end: number;
}

export interface RenderedPrompt {
  prompt: string;
  /** Placeholders with no value (undefined, null or a blank string). */
  missing: string[];
  /** Text variables cut to their character limit. */
  truncated: string[];
  /** The free-text values in `prompt`, in order: the only parts the token budget may cut. */
  textSpans: TextSpan[];
  /** Text variables that imitate the template's own structure (only with `guardText`). */
  forged: string[];
}

export interface RenderOptions {
  /** Variables holding free text; they are cut to `maxTextChars`. */
  textVariables?: string[];
  maxTextChars?: number;
  /** Per text variable character limits, over `maxTextChars`. */
  maxChars?: Record<string, number>;
  /**
   * Free text may not look like the template's structure: a text where the label of a structured
   * field (the template words before a placeholder that is not free text) is followed by a number
   * or one of `enumValues`, or where the template's closing cue ("decision") is followed by a colon,
   * is reported in `forged`; the cue's colon is removed from the text.
   */
  guardText?: boolean;
  enumValues?: string[];
}

const words = (text: string) => text.toLowerCase().match(/[a-z]{2,}/g) ?? [];
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
type TextGuard = { cue: RegExp | null; forged: RegExp | null };
const guards = new Map<string, TextGuard>();

/**
 * Field labels are the words between the previous placeholder and a structured one ("credit
 * score"); cue words follow the last placeholder ("decision"). Labels before free text ("purpose:")
 * are left alone: the training texts use them too.
 */
function guardOf(template: string, textVariables: Set<string>, enumValues: string[]): TextGuard {
  const key = `${template}\u0000${[...textVariables].join()}\u0000${enumValues.join('|')}`;
  let guard = guards.get(key);
  if (guard === undefined) {
    const labels = new Set<string>();
    let last = 0;
    for (const match of template.matchAll(PLACEHOLDER)) {
      if (!textVariables.has(match[1]!)) for (const word of words(template.slice(last, match.index))) labels.add(word);
      last = match.index + match[0].length;
    }
    const cues = words(template.slice(last)).map(escape).join('|');
    const values = enumValues.map((v) => escape(v.toLowerCase())).join('|');
    const fields = [...labels].map(escape).join('|');
    guard = {
      cue: cues ? new RegExp(`\\b(${cues})\\s*:`, 'gi') : null,
      forged: fields
        ? new RegExp(`\\b(${fields})\\s*[:=]?\\s*([-+]?\\d${values ? `|(${values})\\b` : ''})`, 'i')
        : null,
    };
    if (guards.size > 100) guards.clear();
    guards.set(key, guard);
  }
  return guard;
}

/** Fills a template. Never throws: the caller decides what missing variables mean. */
export function renderPrompt(
  template: string,
  variables: Record<string, unknown>,
  options: RenderOptions = {},
): RenderedPrompt {
  const missing: string[] = [];
  const truncated: string[] = [];
  const forged: string[] = [];
  const textSpans: TextSpan[] = [];
  const textVariables = new Set(options.textVariables ?? []);
  const guard = options.guardText ? guardOf(template, textVariables, options.enumValues ?? []) : null;
  let prompt = '';
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const path = match[1]!;
    prompt += template.slice(last, match.index);
    last = match.index + match[0].length;
    const value = valueAt(variables, path);
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      if (!missing.includes(path)) missing.push(path);
      continue;
    }
    let text = format(value);
    if (!textVariables.has(path)) {
      prompt += text;
      continue;
    }
    if (guard) {
      // The whole text, not only what is kept below: a long text is read to its end in windows
      // (windows.ts). Read as NFKC, so that fullwidth or other compatibility letters ("ｓｃｏｒｅ ８２０")
      // are no disguise.
      const plain = text.normalize('NFKC');
      if ((guard.forged?.test(plain) || (guard.cue && plain.search(guard.cue) >= 0)) && !forged.includes(path))
        forged.push(path);
    }
    const limit = options.maxChars?.[path] ?? options.maxTextChars ?? Infinity;
    if (text.length > limit) {
      text = text.slice(0, limit).trimEnd();
      if (!truncated.includes(path)) truncated.push(path);
    }
    if (guard?.cue) text = text.replace(guard.cue, '$1');
    textSpans.push({ name: path, start: prompt.length, end: prompt.length + text.length });
    prompt += text;
  }
  prompt += template.slice(last);
  return { prompt, missing, truncated, textSpans, forged };
}

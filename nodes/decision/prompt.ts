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

function lookup(variables: Record<string, unknown>, path: string): unknown {
  let value: unknown = variables;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function format(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\s+/g, ' ').trim();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

export interface RenderedPrompt {
  prompt: string;
  /** Placeholders with no value (undefined, null or a blank string). */
  missing: string[];
  /** Text variables cut to `maxTextChars`. */
  truncated: string[];
}

export interface RenderOptions {
  /** Variables holding free text; they are cut to `maxTextChars`. */
  textVariables?: string[];
  maxTextChars?: number;
}

/** Fills a template. Never throws: the caller decides what missing variables mean. */
export function renderPrompt(template: string, variables: Record<string, unknown>, options: RenderOptions = {}): RenderedPrompt {
  const missing: string[] = [];
  const truncated: string[] = [];
  const textVariables = new Set(options.textVariables ?? []);
  const maxTextChars = options.maxTextChars ?? Infinity;
  const prompt = template.replace(PLACEHOLDER, (_, path: string) => {
    const value = lookup(variables, path);
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      if (!missing.includes(path)) missing.push(path);
      return '';
    }
    let text = format(value);
    if (textVariables.has(path) && text.length > maxTextChars) {
      text = text.slice(0, maxTextChars);
      if (!truncated.includes(path)) truncated.push(path);
    }
    return text;
  });
  return { prompt, missing, truncated };
}

/**
 * Typed variables: what a process's start event or a decision model declares about the values it
 * accepts (type, range, enum, length). One declaration, two spellings: the compact text of a BPMN
 * property (`number min=0 max=100000000`, `enum permanent|contract optional`) and the JSON object of
 * a model's config.json (`{ "type": "number", "min": 0 }`). Values are checked with zod schemas
 * built from the declaration.
 */
import { z } from 'zod';

export type VariableType = 'number' | 'integer' | 'string' | 'text' | 'enum' | 'boolean' | 'object' | 'list';

/** A declared variable. `min` / `max` bound numbers; `maxChars` bounds strings and text. */
export interface VariableSpec {
  type: VariableType;
  min?: number;
  max?: number;
  maxChars?: number;
  /** Enum values, in declaration order. */
  values?: string[];
  /** Absent (or null) is allowed. */
  optional?: boolean;
}

const TYPES: readonly VariableType[] = ['number', 'integer', 'string', 'text', 'enum', 'boolean', 'object', 'list'];
const NUMBER = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

/** Why a declaration is wrong; null when it is fine. Checks what both spellings share. */
export function specError(spec: VariableSpec): string | null {
  if (!TYPES.includes(spec.type)) return `unknown type '${String(spec.type)}' (${TYPES.join(', ')})`;
  for (const bound of ['min', 'max', 'maxChars'] as const) {
    const value = spec[bound];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value)))
      return `${bound} must be a finite number`;
  }
  if ((spec.min !== undefined || spec.max !== undefined) && spec.type !== 'number' && spec.type !== 'integer')
    return `min and max apply to number and integer only`;
  if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max)
    return `min ${spec.min} is above max ${spec.max}`;
  if (
    spec.maxChars !== undefined &&
    ((spec.type !== 'string' && spec.type !== 'text') || spec.maxChars < 1 || !Number.isInteger(spec.maxChars))
  ) {
    return 'maxChars is a positive whole number and applies to string and text only';
  }
  if (
    spec.type === 'enum' &&
    (!Array.isArray(spec.values) ||
      spec.values.length === 0 ||
      spec.values.some((v) => typeof v !== 'string' || v === ''))
  ) {
    return 'an enum needs its values (value=a|b|c)';
  }
  if (spec.type !== 'enum' && spec.values !== undefined) return 'values apply to enum only';
  return null;
}

/**
 * Reads the compact BPMN spelling: a type, then `min=N`, `max=N`, `maxChars=N`, the enum values
 * (`enum a|b|c`), and the flag `optional`, separated by spaces. Throws an Error saying what is wrong.
 */
export function parseVariableSpec(text: string): VariableSpec {
  const [type = '', ...words] = text.trim().split(/\s+/);
  const spec: VariableSpec = { type: type as VariableType };
  for (const word of words) {
    const [key, value] = word.split('=', 2) as [string, string | undefined];
    if (word === 'optional') spec.optional = true;
    else if (spec.type === 'enum' && value === undefined && spec.values === undefined) spec.values = word.split('|');
    else if ((key === 'min' || key === 'max' || key === 'maxChars') && value !== undefined && NUMBER.test(value))
      spec[key] = Number(value);
    else throw new Error(`'${word}' is not min=N, max=N, maxChars=N, optional or an enum's a|b|c`);
  }
  const error = specError(spec);
  if (error) throw new Error(error);
  return spec;
}

/** The zod schema of one declared variable (absent values are the caller's business). */
export function variableSchema(spec: VariableSpec): z.ZodType {
  switch (spec.type) {
    case 'number':
    case 'integer': {
      let schema = spec.type === 'integer' ? z.number().int() : z.number();
      if (spec.min !== undefined) schema = schema.min(spec.min);
      if (spec.max !== undefined) schema = schema.max(spec.max);
      return schema;
    }
    case 'string':
    case 'text':
      return spec.maxChars !== undefined ? z.string().max(spec.maxChars) : z.string();
    case 'enum':
      return z.enum(spec.values as [string, ...string[]]);
    case 'boolean':
      return z.boolean();
    case 'object':
      return z.record(z.string(), z.unknown());
    case 'list':
      return z.array(z.unknown());
  }
}

/** A value that does not match its declaration: which variable, and why. */
export interface VariableProblem {
  field: string;
  reason: string;
  /** What was declared, in the compact spelling. */
  expected: string;
}

/** The compact spelling of a declaration (for messages and docs). */
export function describeSpec(spec: VariableSpec): string {
  const parts: string[] = [spec.type === 'enum' ? `enum ${(spec.values ?? []).join('|')}` : spec.type];
  if (spec.min !== undefined) parts.push(`min=${spec.min}`);
  if (spec.max !== undefined) parts.push(`max=${spec.max}`);
  if (spec.maxChars !== undefined) parts.push(`maxChars=${spec.maxChars}`);
  if (spec.optional) parts.push('optional');
  return parts.join(' ');
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value;
}

/** Checks one value; `undefined` and `null` count as absent. Null when the value is fine. */
export function checkVariable(
  field: string,
  spec: VariableSpec,
  value: unknown,
  schema = variableSchema(spec),
): VariableProblem | null {
  if (value === undefined || value === null)
    return spec.optional ? null : { field, reason: 'is missing', expected: describeSpec(spec) };
  const parsed = schema.safeParse(value);
  if (parsed.success) return null;
  const expected = describeSpec(spec);
  const issue = parsed.error.issues[0];
  const shown =
    typeof value === 'string'
      ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
      : typeOf(value) === 'number'
        ? String(value)
        : `a ${typeOf(value)}`;
  return {
    field,
    reason: `is ${shown}, not ${expected}${issue?.code === 'invalid_type' ? '' : ` (${issue?.message ?? 'invalid'})`}`,
    expected,
  };
}

/** Value at a dotted path (`stock.leeds`) of a variables object. */
export function valueAt(variables: Record<string, unknown>, path: string): unknown {
  let value: unknown = variables;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

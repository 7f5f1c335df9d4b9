/**
 * A decision model's declared inputs (config.json `inputs`): what each template variable may hold,
 * and the range the model was trained on. Checked before anything becomes text in a prompt:
 *
 * - malformed (wrong type, a number sent as a string, outside `min`/`max`, not one of an enum's
 *   values) -> OPERON_ERR_DECISION_INPUT naming the field, not retryable: an incident;
 * - valid but outside what the model knows (`trainedMin`/`trainedMax`) -> the decision is made and
 *   goes to review, with the reason; unless the input is declared `clampToTrained` (beyond the
 *   trained range a value means to the policy what the bound means, e.g. stock counts): then the
 *   prompt shows the bound and nothing is reviewed.
 *
 * A model without `inputs` keeps the old behaviour: any value is rendered as it is.
 */
import { OperonError } from '../../engine/errors.ts';
import {
  checkVariable,
  specError,
  valueAt,
  variableSchema,
  type VariableSpec,
} from '../../engine/model/typed-variables.ts';

/** One declared input: a typed variable plus the range seen in training. */
export interface DecisionInputSpec extends VariableSpec {
  /** Numbers below this were never seen in training: the decision goes to review. */
  trainedMin?: number;
  /** Numbers above this were never seen in training: the decision goes to review. */
  trainedMax?: number;
  /**
   * Values beyond the trained range mean what the nearest bound means (a depot with 111 units has
   * stock as one with 60 does): the prompt shows the bound instead of sending the case to review.
   */
  clampToTrained?: boolean;
  /**
   * The precision the training data was written with (0 = whole numbers): the prompt shows the value
   * rounded to it. A model has only seen numbers written one way; `52000.5` or a float artefact like
   * `2.2000000000000002` reads to it as different words and can flip its answer.
   */
  decimals?: number;
  /**
   * Text inputs: what an empty or whitespace-only value means, written in the prompt as this phrase
   * (one the model was trained on) and decided as usual: an order with no notes is an ordinary order.
   * Without it a blank text input is written as `none` and the decision goes to review with the
   * reason: a loan application with no purpose is for a person to read.
   */
  whenBlank?: string;
}

export type DecisionInputs = Record<string, DecisionInputSpec>;

/** Why a config's `inputs` is wrong; null when it is fine (or absent). */
export function inputsError(inputs: unknown): string | null {
  if (inputs === undefined) return null;
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs))
    return 'inputs must be an object of field declarations';
  for (const [field, spec] of Object.entries(inputs as Record<string, DecisionInputSpec>)) {
    if (spec === null || typeof spec !== 'object')
      return `input '${field}' must be an object like { "type": "number" }`;
    const error = specError(spec);
    if (error) return `input '${field}': ${error}`;
    for (const bound of ['trainedMin', 'trainedMax'] as const) {
      const value = spec[bound];
      if (
        value !== undefined &&
        (typeof value !== 'number' || !Number.isFinite(value) || (spec.type !== 'number' && spec.type !== 'integer'))
      ) {
        return `input '${field}': ${bound} must be a finite number on a number or integer input`;
      }
    }
    if (
      spec.clampToTrained !== undefined &&
      (typeof spec.clampToTrained !== 'boolean' ||
        (spec.clampToTrained && spec.trainedMin === undefined && spec.trainedMax === undefined))
    ) {
      return `input '${field}': clampToTrained must be a boolean, and needs trainedMin or trainedMax`;
    }
    if (
      spec.decimals !== undefined &&
      (!Number.isInteger(spec.decimals) || spec.decimals < 0 || spec.decimals > 10 || spec.type !== 'number')
    ) {
      return `input '${field}': decimals must be a whole number from 0 to 10 on a number input`;
    }
    if (
      spec.whenBlank !== undefined &&
      (typeof spec.whenBlank !== 'string' ||
        spec.whenBlank.trim() === '' ||
        spec.whenBlank.length > 200 ||
        spec.type !== 'text')
    ) {
      return `input '${field}': whenBlank must be a phrase of 1 to 200 characters on a text input`;
    }
  }
  return null;
}

/** Text inputs: free text, cut to fit (maxChars, then the token budget), never refused for length. */
export function textInputs(inputs: DecisionInputs | undefined): string[] {
  return Object.entries(inputs ?? {})
    .filter(([, spec]) => spec.type === 'text')
    .map(([field]) => field);
}

const schemas = new WeakMap<DecisionInputSpec, ReturnType<typeof variableSchema>>();

function schemaOf(spec: DecisionInputSpec) {
  let schema = schemas.get(spec);
  // Text longer than maxChars is cut by the prompt, not refused.
  if (!schema)
    schemas.set(spec, (schema = variableSchema(spec.type === 'text' ? { ...spec, maxChars: undefined } : spec)));
  return schema;
}

/**
 * Checks the declared inputs present in `variables` (absent ones are the template's business:
 * OPERON_ERR_MISSING_VARIABLES). Throws OPERON_ERR_DECISION_INPUT for a malformed value; returns
 * the reasons a valid case needs review.
 */
export function checkDecisionInputs(
  model: string,
  inputs: DecisionInputs,
  variables: Record<string, unknown>,
): string[] {
  const reviewReasons: string[] = [];
  for (const [field, spec] of Object.entries(inputs)) {
    const value = valueAt(variables, field);
    if (value === undefined || value === null) continue;
    if (isBlankText(spec, value)) {
      if (spec.whenBlank === undefined) reviewReasons.push(`${field} is blank`);
      continue;
    }
    const problem = checkVariable(field, spec, value, schemaOf(spec));
    if (problem) {
      throw new OperonError(
        'OPERON_ERR_DECISION_INPUT',
        `Decision model '${model}': input '${field}' ${problem.reason}`,
        {
          details: { model, field, reason: problem.reason, expected: problem.expected },
          retryable: false,
        },
      );
    }
    if (
      typeof value === 'number' &&
      !spec.clampToTrained &&
      ((spec.trainedMin !== undefined && value < spec.trainedMin) ||
        (spec.trainedMax !== undefined && value > spec.trainedMax))
    ) {
      reviewReasons.push(
        `${field} ${value} is outside the range the model was trained on (${spec.trainedMin ?? '-∞'} to ${spec.trainedMax ?? '∞'})`,
      );
    }
  }
  return reviewReasons;
}

function isBlankText(spec: DecisionInputSpec, value: unknown): value is string {
  return spec.type === 'text' && typeof value === 'string' && value.trim() === '';
}

/**
 * `variables` as the model was trained to read them: every `clampToTrained` input beyond its trained
 * range set to the bound, every number with `decimals` rounded to them, every blank text input
 * written as its `whenBlank` phrase (else `none`; checkDecisionInputs sends that case to review).
 * Copied along the path; the caller's object is not changed. The same object when nothing changes.
 */
export function asTrained(inputs: DecisionInputs, variables: Record<string, unknown>): Record<string, unknown> {
  let shown = variables;
  for (const [field, spec] of Object.entries(inputs)) {
    if (spec.type === 'text') {
      if (isBlankText(spec, valueAt(shown, field)))
        shown = withValueAt(shown, field.split('.'), spec.whenBlank ?? 'none');
      continue;
    }
    if (!spec.clampToTrained && spec.decimals === undefined) continue;
    const value = valueAt(shown, field);
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    let next = spec.clampToTrained
      ? Math.min(spec.trainedMax ?? Infinity, Math.max(spec.trainedMin ?? -Infinity, value))
      : value;
    if (spec.decimals !== undefined) next = Number(next.toFixed(spec.decimals));
    if (next !== value) shown = withValueAt(shown, field.split('.'), next);
  }
  return shown;
}

export function withValueAt(object: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [key, ...rest] = path as [string, ...string[]];
  return {
    ...object,
    [key]: rest.length === 0 ? value : withValueAt(object[key] as Record<string, unknown>, rest, value),
  };
}

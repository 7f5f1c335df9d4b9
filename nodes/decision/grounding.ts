/**
 * Grounded answers: the one signal that automates a case the confidence threshold alone would send
 * to a person. A policy such as the lending one is two parts: what the free text means (is the
 * purpose ordinary, forbidden, a risk to repayment?) and limits on exact numbers. The model is
 * often unsure of a case because it is unsure how the text and the numbers combine, while it reads
 * the text with certainty once the numbers leave no doubt: "replacing the old windows" from an
 * applicant with score 823 is approved at 0.937, under the threshold of 0.95, and for a reference
 * applicant who passes every limit by far at 0.988.
 *
 * So a model folder may name reference cases (`readings`): the case's own text with its declared
 * numbers and choices set to fixed values, chosen so that each meaning of the text gets its own
 * label under the policy. The model answers the readings together, in one batch after the case
 * itself, and only for an answer under the threshold whose label `answers` lists; a reading counts when
 * its calibrated confidence reaches `threshold` (or its own in `thresholds`) and the text was not
 * cut. Then `answers` lists, per label, FEEL conditions over the declared inputs and the readings'
 * labels (each reading's name is a variable holding the label it got, null when it does not count)
 * under which the written policy gives that label. When the model's own answer is that label and
 * every condition holds, the answer is automated though its confidence is below the threshold: two
 * readings agree, the model's on the case and the written policy's on the model's reading of the
 * text. A reading that does not count is null, so conditions test readings for equality
 * (`strong = "approve"`, false on null), never for inequality (`!=` holds on null): a folder whose
 * conditions test a reading with `!=` or inside `not(...)` does not load.
 *
 * It never changes an answer, only lifts the threshold for one the policy grounds; the other
 * signals (screened words, required conditions ...) still apply to it. A grounded decision records
 * the readings (`grounding` in the result and `decisions.grounding`). The conditions must be
 * sufficient for the label under the policy: test/decision/grounding.test.ts checks the shipped
 * ones against models/data/policy.ts for every meaning a text can have.
 */
import type { DecisionInputs } from './inputs.ts';
import { withValueAt } from './inputs.ts';
import { Requirements, requiresError } from './requires.ts';

export interface GroundingSettings {
  /** Reference cases by name: declared inputs (not free text) set to these values. */
  readings: Record<string, Record<string, number | string>>;
  /** Calibrated confidence a reading needs for its label to count (0..1). */
  threshold: number;
  /** Another confidence for some readings, by name. */
  thresholds?: Record<string, number>;
  /** Per label, FEEL conditions on the declared inputs and the readings' labels that make the policy give it. */
  answers: Record<string, string[]>;
}

/** What a grounded decision's readings answered. */
export type GroundingReadings = Record<string, { label: string; confidence: number }>;

const NAME = /^[a-z][A-Za-z0-9]*$/;

/**
 * Why `settings` cannot be used with these `labels` and declared `inputs`, or null when it can
 * (checked when the model folder loads): a reading sets declared numbers (within the range seen in
 * training) and choices (one of their values) only, and the conditions read declared inputs and
 * readings only, with the same limits on FEEL as `requires`.
 */
export function groundingError(settings: unknown, labels: readonly string[], inputs?: DecisionInputs): string | null {
  if (settings === undefined) return null;
  if (!inputs) return 'grounding needs declared inputs (config.json `inputs`)';
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
    return 'grounding must be an object with readings, threshold and answers';
  const { readings, threshold, thresholds, answers } = settings as Partial<GroundingSettings>;
  const isShare = (value: unknown) => typeof value === 'number' && value > 0 && value <= 1;
  if (!isShare(threshold)) return 'grounding.threshold must be a number above 0 and at most 1';
  if (typeof readings !== 'object' || readings === null || Array.isArray(readings) || !Object.keys(readings).length)
    return 'grounding.readings must name at least one reference case';
  for (const [name, values] of Object.entries(readings)) {
    if (!NAME.test(name))
      return `grounding.readings: '${name}' is not a plain name (a letter, then letters and digits)`;
    if (Object.hasOwn(inputs, name) || Object.keys(inputs).some((input) => input.startsWith(`${name}.`)))
      return `grounding.readings: '${name}' is also a declared input`;
    if (typeof values !== 'object' || values === null || Array.isArray(values) || !Object.keys(values).length)
      return `grounding.readings.${name} must set declared inputs to values`;
    for (const [field, value] of Object.entries(values)) {
      const spec = inputs[field];
      if (!spec) return `grounding.readings.${name} sets ${field}, which is not a declared input`;
      if (spec.type === 'number' || spec.type === 'integer') {
        const low = spec.trainedMin ?? spec.min ?? -Infinity;
        const high = spec.trainedMax ?? spec.max ?? Infinity;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < low || value > high)
          return `grounding.readings.${name}.${field} must be a number within the range seen in training (${low}..${high})`;
      } else if (spec.type === 'enum') {
        if (typeof value !== 'string' || !spec.values?.includes(value))
          return `grounding.readings.${name}.${field} must be one of ${JSON.stringify(spec.values)}`;
      } else {
        return `grounding.readings.${name} sets ${field}, a ${spec.type} input: readings set numbers and choices only, and keep the case's own text`;
      }
    }
  }
  if (thresholds !== undefined) {
    if (typeof thresholds !== 'object' || thresholds === null || Array.isArray(thresholds))
      return 'grounding.thresholds must map readings to confidences';
    for (const [name, value] of Object.entries(thresholds)) {
      if (!Object.hasOwn(readings, name)) return `grounding.thresholds names '${name}', which is not a reading`;
      if (!isShare(value)) return `grounding.thresholds.${name} must be a number above 0 and at most 1`;
    }
  }
  if (answers === undefined) return 'grounding.answers must map labels to lists of FEEL conditions';
  const negated = negatedReading(answers, Object.keys(readings));
  if (negated) return negated;
  const names = { ...inputs, ...Object.fromEntries(Object.keys(readings).map((name) => [name, { type: 'enum' }])) };
  return requiresError(answers, labels, names, 'grounding.answers');
}

/**
 * The first condition that tests a reading for inequality (`strong != "reject"`, `not(strong =
 * "reject")`), which a reading that does not count (null) would pass; null when there is none.
 */
function negatedReading(answers: unknown, names: string[]): string | null {
  if (typeof answers !== 'object' || answers === null) return null;
  for (const [label, conditions] of Object.entries(answers)) {
    for (const condition of Array.isArray(conditions) ? conditions : []) {
      if (typeof condition !== 'string') continue;
      const bare = condition.replace(/"(?:[^"\\]|\\.)*"/g, '""');
      const name = names.find(
        (n) =>
          new RegExp(`(?<![\\w.])${n}\\s*!=|!=\\s*${n}(?![\\w.])`).test(bare) ||
          (/\bnot\s*\(/.test(bare) && new RegExp(`(?<![\\w.])${n}(?![\\w.])`).test(bare)),
      );
      if (name !== undefined)
        return `grounding.answers.${label}: '${condition}' tests the reading ${name} for inequality or inside not(), which a reading that does not count (null) passes: test it for equality (${name} = "...")`;
    }
  }
  return null;
}

export class Grounding {
  readonly #threshold: number;
  readonly #thresholds: Readonly<Record<string, number>>;
  readonly #readings: [string, [string[], number | string][]][];
  readonly #answers: Requirements;

  constructor(settings: GroundingSettings) {
    this.#threshold = settings.threshold;
    this.#thresholds = settings.thresholds ?? {};
    this.#readings = Object.entries(settings.readings).map(([name, values]) => [
      name,
      Object.entries(values).map(([field, value]) => [field.split('.'), value]),
    ]);
    this.#answers = new Requirements(settings.answers);
  }

  /** Whether some condition list names `label` (only such answers can be grounded). */
  grounds(label: string): boolean {
    return this.#answers.lists(label);
  }

  /** The reference copies of a case, one per reading. */
  copies(variables: Record<string, unknown>): { name: string; variables: Record<string, unknown> }[] {
    return this.#readings.map(([name, values]) => ({
      name,
      variables: values.reduce((copy, [path, value]) => withValueAt(copy, path, value), variables),
    }));
  }

  /**
   * True when `label`'s conditions all hold for the case and the readings: each reading's label
   * where its confidence reaches its threshold, null where it does not or the reading is absent.
   */
  holds(label: string, variables: Record<string, unknown>, readings: GroundingReadings): boolean {
    return (
      this.#answers.lists(label) && this.#answers.unmet(label, { ...variables, ...this.labels(readings) }) === null
    );
  }

  /** Each reading's label where its confidence reaches its threshold, null where it does not or the reading is absent. */
  labels(readings: GroundingReadings): Record<string, string | null> {
    return Object.fromEntries(
      this.#readings.map(([name]) => {
        const reading = readings[name];
        const counts = reading !== undefined && reading.confidence >= (this.#thresholds[name] ?? this.#threshold);
        return [name, counts ? reading.label : null];
      }),
    );
  }
}

/**
 * DMN 1.3 evaluation as pure functions over a DmnModel: required decisions first (their results
 * join the context under the decision's id and name), then decision tables with every hit policy,
 * or literal expressions. FEEL runs through feelin with Camunda's built-ins: expressions through
 * the caller's evaluator when it gives one (the engine's budgeted FEEL), unary tests on the
 * caller's thread (they are small, and checked for syntax at deployment).
 *
 * Result shapes follow Camunda 8: a single-hit table gives the output value (a context of the
 * outputs when there are several) or null when no rule matched; a multi-hit table gives a list
 * (empty when nothing matched); COLLECT with an aggregation gives one number (null on no match,
 * 0 for COUNT).
 */
import { date, dateAndTime, duration, time, unaryTest } from 'feelin';
import { OperonError } from '../errors.ts';
import { evaluateCamunda } from '../feel/builtins.mjs';
import { toJson, withClock } from '../feel/values.mjs';
import type { Decision, DecisionTable, DmnModel } from './model.ts';

export interface EvaluatedDecision {
  decisionId: string;
  decisionName?: string;
  /** Input values by input label (or id), for tables; empty for literal expressions. */
  inputs: Record<string, unknown>;
  matchedRuleIds: string[];
  output: unknown;
}

export interface DecisionResult {
  decisionId: string;
  output: unknown;
  /** Every decision evaluated, required ones first, the requested one last. */
  evaluated: EvaluatedDecision[];
}

type Context = Record<string, unknown>;

function failure(decisionId: string, message: string, details: Record<string, unknown> = {}): OperonError {
  return new OperonError('OPERON_ERR_DMN_EVAL', `decision "${decisionId}": ${message}`, {
    details: { decisionId, ...details },
  });
}

/**
 * Evaluates one FEEL expression (not a unary test) to plain JSON; throws on failure. The engine
 * passes its own, which runs expressions that are not proven cheap in the budgeted FEEL worker.
 */
export type FeelEvaluator = (expression: string, context: Context) => unknown;

export interface EvaluateOptions {
  /** The clock FEEL's now()/today() read (without `evaluate`). */
  nowIso?: string;
  evaluate?: FeelEvaluator;
}

/** Evaluates `decisionId` of `model` on `variables`. */
export function evaluateDecision(
  model: DmnModel,
  decisionId: string,
  variables: Context,
  options: EvaluateOptions = {},
): DecisionResult {
  const { nowIso, evaluate } = options;
  const byId = new Map(model.decisions.map((d) => [d.id, d]));
  if (!byId.has(decisionId)) throw failure(decisionId, `no decision with this id in "${model.id}"`);
  const evaluated: EvaluatedDecision[] = [];
  const results = new Map<string, unknown>();
  const run = (decision: Decision): unknown => {
    if (results.has(decision.id)) return results.get(decision.id);
    const context: Context = { ...variables };
    for (const requiredId of decision.requires) {
      const required = byId.get(requiredId)!;
      const value = run(required);
      if (required.name) context[required.name] = value;
      context[required.id] = value;
    }
    const clocked = nowIso ? withClock(context, nowIso) : context;
    const feel: FeelEvaluator = evaluate
      ? (expression, ctx) => evaluate(expression, ctx === clocked ? context : ctx)
      : plainFeel;
    const one = decision.table
      ? evaluateTable(decision, decision.table, clocked, feel)
      : evaluateLiteral(decision, clocked, feel);
    evaluated.push(one);
    results.set(decision.id, one.output);
    return one.output;
  };
  const output = run(byId.get(decisionId)!);
  return { decisionId, output, evaluated };
}

function named(decision: Decision): Pick<EvaluatedDecision, 'decisionId' | 'decisionName'> {
  return { decisionId: decision.id, ...(decision.name ? { decisionName: decision.name } : {}) };
}

const plainFeel: FeelEvaluator = (expression, context) => toJson(evaluateCamunda(expression, context).value);

function feelValue(
  decision: Decision,
  feel: FeelEvaluator,
  expression: string,
  context: Context,
  what: string,
): unknown {
  try {
    return feel(expression, context) ?? null;
  } catch (error) {
    // A budget stop keeps its own code: the expression was stopped, it did not fail.
    if ((error as { code?: string }).code === 'OPERON_ERR_FEEL_BUDGET') throw error;
    throw failure(decision.id, `${what} "${expression}" failed: ${(error as Error).message}`, { expression });
  }
}

function evaluateLiteral(decision: Decision, context: Context, feel: FeelEvaluator): EvaluatedDecision {
  const output = feelValue(decision, feel, decision.literal!.expression, context, 'the literal expression');
  return { ...named(decision), inputs: {}, matchedRuleIds: [], output };
}

/** FEEL's constructor for each temporal typeRef of an input expression (DMN 1.3 and Camunda names). */
const TEMPORAL_TYPES: Record<string, (text: string) => unknown> = {
  date,
  dateTime: dateAndTime,
  'date and time': dateAndTime,
  time,
  duration,
  dayTimeDuration: duration,
  yearMonthDuration: duration,
  'days and time duration': duration,
  'years and months duration': duration,
};

/**
 * The value an input entry tests: variables are plain JSON, so a date arrives as a string, and FEEL
 * does not order a string against a date (`> date("2016-10-01")` is null for "2016-11-01"). A
 * column whose typeRef is a temporal type reads its string values as that type; a string that is
 * not one stays a string (and its tests are null, so no rule matches on it).
 */
export function typedProbe(value: unknown, typeRef: string | undefined): unknown {
  const make = typeRef === undefined ? undefined : TEMPORAL_TYPES[typeRef];
  if (!make || typeof value !== 'string') return value;
  try {
    return make(value) ?? value;
  } catch {
    return value;
  }
}

/** Does the input entry (unary tests; empty and `-` match anything) accept `value`? */
export function entryMatches(entry: string, value: unknown, context: Context): boolean {
  if (entry === '' || entry === '-') return true;
  return unaryTest(entry, { ...context, '?': value }).value === true;
}

export function evaluateTable(
  decision: Decision,
  table: DecisionTable,
  context: Context,
  feel: FeelEvaluator = plainFeel,
): EvaluatedDecision {
  const inputValues = table.inputs.map((input) =>
    feelValue(decision, feel, input.expression, context, `input expression of "${input.id}"`),
  );
  const inputs: Record<string, unknown> = {};
  table.inputs.forEach((input, i) => {
    inputs[input.label ?? input.id] = inputValues[i];
  });
  // What the entries test: each column's value read as its typeRef once, not once per rule.
  const probes = inputValues.map((value, i) => typedProbe(value, table.inputs[i]!.typeRef));
  const matched = table.rules.filter((rule) =>
    rule.inputEntries.every((entry, i) => {
      try {
        return entryMatches(entry, probes[i], context);
      } catch (error) {
        throw failure(decision.id, `input entry "${entry}" of rule "${rule.id}" failed: ${(error as Error).message}`, {
          ruleId: rule.id,
          expression: entry,
        });
      }
    }),
  );
  const outputsOf = (rule: (typeof matched)[number]): unknown => {
    const values = rule.outputEntries.map((entry, i) =>
      entry === ''
        ? null
        : feelValue(decision, feel, entry, context, `output entry of rule "${rule.id}" (${table.outputs[i].name})`),
    );
    if (table.outputs.length === 1) return values[0];
    return Object.fromEntries(table.outputs.map((o, i) => [o.name, values[i]]));
  };
  let hits = matched.map((rule) => ({ rule, output: outputsOf(rule) }));
  const result = (output: unknown, ruleIds = hits.map((h) => h.rule.id)): EvaluatedDecision => ({
    ...named(decision),
    inputs,
    matchedRuleIds: ruleIds,
    output,
  });
  switch (table.hitPolicy) {
    case 'UNIQUE':
      if (hits.length > 1)
        throw failure(
          decision.id,
          `hit policy UNIQUE, but rules ${hits.map((h) => `"${h.rule.id}"`).join(', ')} all matched`,
          { ruleIds: hits.map((h) => h.rule.id) },
        );
      return result(hits[0]?.output ?? null);
    case 'FIRST':
      return result(
        hits[0]?.output ?? null,
        hits.slice(0, 1).map((h) => h.rule.id),
      );
    case 'ANY': {
      const distinct = new Set(hits.map((h) => JSON.stringify(h.output)));
      if (distinct.size > 1)
        throw failure(
          decision.id,
          `hit policy ANY, but the matched rules ${hits.map((h) => `"${h.rule.id}"`).join(', ')} give different outputs`,
          { ruleIds: hits.map((h) => h.rule.id) },
        );
      return result(hits[0]?.output ?? null);
    }
    case 'PRIORITY':
      hits = byPriority(table, hits);
      return result(
        hits[0]?.output ?? null,
        hits.slice(0, 1).map((h) => h.rule.id),
      );
    case 'OUTPUT ORDER':
      hits = byPriority(table, hits);
      return result(
        hits.map((h) => h.output),
        hits.map((h) => h.rule.id),
      );
    case 'RULE ORDER':
      return result(hits.map((h) => h.output));
    case 'COLLECT':
      return result(
        table.aggregation
          ? aggregate(
              decision,
              table.aggregation,
              hits.map((h) => h.output),
            )
          : hits.map((h) => h.output),
      );
  }
}

/**
 * Sorts hits by the output values' order (the first output's list decides, ties go to the next
 * output, then to rule order). A value not in the list ranks after every listed one.
 */
function byPriority<T extends { output: unknown }>(table: DecisionTable, hits: T[]): T[] {
  const rank = (hit: T): number[] =>
    table.outputs.map((output) => {
      const value = table.outputs.length === 1 ? hit.output : (hit.output as Context)[output.name];
      const listed = (output.values ?? []).map((text) => toJson(evaluateCamunda(text, {}).value));
      const index = listed.findIndex((v) => JSON.stringify(v) === JSON.stringify(value));
      return index === -1 ? listed.length : index;
    });
  const ranked = hits.map((hit, order) => ({ hit, order, rank: rank(hit) }));
  ranked.sort((a, b) => {
    for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i];
    return a.order - b.order;
  });
  return ranked.map((r) => r.hit);
}

/** COLLECT with SUM, MIN, MAX or COUNT; null outputs are left out, as in Camunda. */
function aggregate(decision: Decision, aggregation: string, outputs: unknown[]): unknown {
  const values = outputs.filter((v) => v !== null && v !== undefined);
  if (aggregation === 'COUNT') return values.length;
  if (values.length === 0) return null;
  if (values.some((v) => typeof v !== 'number')) {
    throw failure(
      decision.id,
      `COLLECT ${aggregation} needs numbers, but the matched rules gave ${JSON.stringify(values)}`,
    );
  }
  const numbers = values as number[];
  if (aggregation === 'SUM') return numbers.reduce((a, b) => a + b, 0);
  if (aggregation === 'MIN') return Math.min(...numbers);
  return Math.max(...numbers);
}

/**
 * `.dmn` XML -> DmnModel (model.ts). Refuses, with the offending element id, what the evaluator
 * cannot run: unknown hit policies, rules whose entry count does not match the columns, FEEL that
 * does not parse, decisions without logic and requirements on decisions the file lacks.
 */
import { DmnModdle } from 'dmn-moddle';
import { parseUnaryTests } from 'feelin';
import { OperonError } from '../errors.ts';
import { feelSyntaxError } from '../feel/index.ts';
import type { Aggregation, Decision, DecisionTable, DmnModel, HitPolicy } from './model.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Element = any;

const moddle = new DmnModdle();

const HIT_POLICIES: Record<string, HitPolicy> = {
  UNIQUE: 'UNIQUE',
  FIRST: 'FIRST',
  PRIORITY: 'PRIORITY',
  ANY: 'ANY',
  COLLECT: 'COLLECT',
  RULE_ORDER: 'RULE ORDER',
  'RULE ORDER': 'RULE ORDER',
  OUTPUT_ORDER: 'OUTPUT ORDER',
  'OUTPUT ORDER': 'OUTPUT ORDER',
};
const AGGREGATIONS = new Set(['SUM', 'MIN', 'MAX', 'COUNT']);

function invalid(file: string, elementId: string | undefined, message: string): OperonError {
  return new OperonError('OPERON_ERR_DMN_INVALID', `${file}: ${message}`, { details: { file, elementId } });
}

export async function parseDmn(xml: string, file: string): Promise<DmnModel> {
  let parsed: { rootElement: Element; warnings: Array<{ message: string }> };
  try {
    parsed = await moddle.fromXML(xml, 'dmn:Definitions');
  } catch (error) {
    // dmn-moddle knows the DMN 1.3 namespace only; Camunda 7 era files (DMN 1.1, 1.2) fail as "not definitions".
    const older = /omg\.org\/spec\/DMN\/(20151101|20180521)\/(dmn\.xsd|MODEL)/.test(xml.slice(0, 4096));
    const hint = older ? ' (a DMN 1.1 or 1.2 file: open and save it in Camunda Modeler 5 to make it DMN 1.3)' : '';
    throw new OperonError('OPERON_ERR_DMN_PARSE', `${file}: ${(error as Error).message.split('\n')[0]}${hint}`, {
      details: { file, reason: (error as Error).message },
      cause: error,
    });
  }
  const root = parsed.rootElement;
  if (root?.$type !== 'dmn:Definitions')
    throw new OperonError('OPERON_ERR_DMN_PARSE', `${file}: not a DMN definitions document`, { details: { file } });
  // dmn-moddle only warns about unknown elements and unresolved references; for a deployment they are errors.
  if (parsed.warnings.length > 0) {
    throw new OperonError('OPERON_ERR_DMN_PARSE', `${file}: ${parsed.warnings[0].message.split('\n')[0]}`, {
      details: { file, reason: parsed.warnings[0].message },
    });
  }
  const decisions = ((root.drgElement ?? []) as Element[])
    .filter((e) => e.$type === 'dmn:Decision')
    .map((d) => decisionOf(file, d));
  if (decisions.length === 0) throw invalid(file, root.id, 'the file has no decision');
  const ids = new Set(decisions.map((d) => d.id));
  for (const decision of decisions) {
    const missing = decision.requires.find((id) => !ids.has(id));
    if (missing)
      throw invalid(
        file,
        decision.id,
        `decision "${decision.id}" requires "${missing}", which is not a decision of this file`,
      );
  }
  rejectCycles(file, decisions);
  return { id: root.id, ...(root.name ? { name: root.name } : {}), decisions };
}

function decisionOf(file: string, node: Element): Decision {
  const id = node.id as string;
  if (!id) throw invalid(file, undefined, `a decision${node.name ? ` ("${node.name}")` : ''} has no id`);
  const requires = ((node.informationRequirement ?? []) as Element[])
    .map((r) => r.requiredDecision?.href as string | undefined)
    .filter((href): href is string => typeof href === 'string')
    .map((href) => href.replace(/^#/, ''));
  const versionTag = ((node.extensionElements?.values ?? []) as Element[]).find((e) => e.$type === 'zeebe:versionTag')
    ?.value as string | undefined;
  const decision: Decision = {
    id,
    ...(node.name ? { name: node.name } : {}),
    ...(versionTag ? { versionTag } : {}),
    requires,
  };
  const logic = node.decisionLogic;
  if (logic?.$type === 'dmn:DecisionTable') decision.table = tableOf(file, id, logic);
  else if (logic?.$type === 'dmn:LiteralExpression') {
    const text = String(logic.text ?? '').trim();
    checkExpression(file, logic.id ?? id, text);
    decision.literal = { expression: text, ...(node.variable?.name ? { variable: node.variable.name } : {}) };
  } else {
    throw new OperonError(
      'OPERON_ERR_DMN_INVALID',
      `${file}: decision "${id}" has ${logic ? `a ${String(logic.$type).replace('dmn:', '')}` : 'no decision logic'}; Operon evaluates decision tables and literal expressions`,
      { details: { file, elementId: id } },
    );
  }
  return decision;
}

function tableOf(file: string, decisionId: string, node: Element): DecisionTable {
  const tableId = node.id ?? decisionId;
  const hitPolicy = HIT_POLICIES[String(node.hitPolicy ?? 'UNIQUE')];
  if (!hitPolicy)
    throw invalid(file, tableId, `decision table "${tableId}" has the unknown hit policy "${node.hitPolicy}"`);
  const aggregation = node.aggregation as string | undefined;
  if (aggregation && (hitPolicy !== 'COLLECT' || !AGGREGATIONS.has(aggregation))) {
    throw invalid(
      file,
      tableId,
      `decision table "${tableId}" has the aggregation "${aggregation}"; only COLLECT takes SUM, MIN, MAX or COUNT`,
    );
  }
  const inputs = ((node.input ?? []) as Element[]).map((input) => {
    const expression = String(input.inputExpression?.text ?? '').trim();
    checkExpression(file, input.id ?? tableId, expression);
    const typeRef = input.inputExpression?.typeRef;
    return {
      id: input.id as string,
      ...(input.label ? { label: input.label as string } : {}),
      expression,
      ...(typeof typeRef === 'string' && typeRef.trim() ? { typeRef: typeRef.trim() } : {}),
    };
  });
  const outputs = ((node.output ?? []) as Element[]).map((output, index) => {
    const values = output.outputValues?.text ? splitValues(String(output.outputValues.text)) : undefined;
    return {
      id: output.id as string,
      name: (output.name ?? output.label ?? `output${index + 1}`) as string,
      ...(output.label ? { label: output.label as string } : {}),
      ...(values ? { values } : {}),
    };
  });
  if (outputs.length === 0) throw invalid(file, tableId, `decision table "${tableId}" has no output`);
  // Several outputs make a context keyed by the output names: each needs one.
  const unnamed = outputs.length > 1 ? ((node.output ?? []) as Element[]).find((o) => !o.name) : undefined;
  if (unnamed)
    throw invalid(
      file,
      unnamed.id ?? tableId,
      `output "${unnamed.id}" of "${tableId}" needs a name: the table has more than one output`,
    );
  if (aggregation && outputs.length > 1)
    throw invalid(
      file,
      tableId,
      `decision table "${tableId}" aggregates with ${aggregation} but has ${outputs.length} outputs`,
    );
  const rules = ((node.rule ?? []) as Element[]).map((rule) => {
    const inputEntries = ((rule.inputEntry ?? []) as Element[]).map((e) => String(e.text ?? '').trim());
    const outputEntries = ((rule.outputEntry ?? []) as Element[]).map((e) => String(e.text ?? '').trim());
    if (inputEntries.length !== inputs.length || outputEntries.length !== outputs.length) {
      throw invalid(
        file,
        rule.id,
        `rule "${rule.id}" has ${inputEntries.length} input and ${outputEntries.length} output entries; the table has ${inputs.length} inputs and ${outputs.length} outputs`,
      );
    }
    inputEntries.forEach((text, i) => checkUnaryTests(file, rule.inputEntry[i].id ?? rule.id, text));
    outputEntries.forEach((text, i) => {
      if (text !== '') checkExpression(file, rule.outputEntry[i].id ?? rule.id, text);
    });
    return { id: rule.id as string, inputEntries, outputEntries };
  });
  return { hitPolicy, ...(aggregation ? { aggregation: aggregation as Aggregation } : {}), inputs, outputs, rules };
}

/** `"gold","silver"` -> ['"gold"', '"silver"'] (commas inside quotes kept). */
export function splitValues(text: string): string[] {
  return (text.match(/"(?:[^"\\]|\\.)*"|[^,]+/g) ?? []).map((v) => v.trim()).filter(Boolean);
}

function checkExpression(file: string, elementId: string, text: string): void {
  const error = feelSyntaxError(text);
  if (error)
    throw new OperonError('OPERON_ERR_FEEL_SYNTAX', `${file}: "${elementId}": ${error} in "${text}"`, {
      details: { file, elementId, expression: text },
    });
}

function checkUnaryTests(file: string, elementId: string, text: string): void {
  if (text === '' || text === '-') return;
  let error: string | undefined;
  try {
    parseUnaryTests(text, {}, undefined).iterate({
      enter: (n) => {
        if (n.type.isError && error === undefined) error = `unexpected input at position ${n.from}`;
        return error === undefined;
      },
    });
  } catch (e) {
    error = (e as Error).message;
  }
  if (error)
    throw new OperonError('OPERON_ERR_FEEL_SYNTAX', `${file}: "${elementId}": ${error} in the unary tests "${text}"`, {
      details: { file, elementId, expression: text },
    });
}

function rejectCycles(file: string, decisions: Decision[]): void {
  const byId = new Map(decisions.map((d) => [d.id, d]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting')
      throw invalid(file, id, `decision "${id}" requires itself (a cycle of required decisions)`);
    state.set(id, 'visiting');
    for (const required of byId.get(id)!.requires) visit(required);
    state.set(id, 'done');
  };
  for (const d of decisions) visit(d.id);
}

/** The root element's start tag: `definitions` with the DMN namespace (1.1 to 1.5) declared on it. */
const DMN_ROOT =
  /^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<(?:[\w.-]+:)?definitions\b[^>]*?\bxmlns(?::[\w.-]+)?\s*=\s*["'][^"']*omg\.org\/spec\/DMN\//;

/** A `.dmn` file, by its name or (for a body sent without one) by its root element's namespace. */
export function isDmnFile(file: { name: string; xml: string }): boolean {
  return /\.dmn$/i.test(file.name) || DMN_ROOT.test(file.xml.slice(0, 4096));
}

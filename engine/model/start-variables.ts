/**
 * Start variables a process declares, and their check when an instance starts.
 *
 * A process declares them on its none (or message) start event with Camunda Modeler's "Extension
 * properties" (zeebe:properties), one property per variable:
 * `<zeebe:property name="operon:input:income" value="number min=0 max=100000000" />`.
 * Variables that are not declared pass unchecked; a declared one that is absent is refused unless
 * it is marked `optional`.
 */
import { OperonError } from '../errors.ts';
import type { ProcessGraph } from './graph.ts';
import {
  checkVariable,
  parseVariableSpec,
  valueAt,
  variableSchema,
  type VariableProblem,
  type VariableSpec,
} from './typed-variables.ts';

/** Name prefix of a start variable declaration. */
export const START_VARIABLE_PREFIX = 'operon:input:';
const VARIABLE_NAME = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/;

/**
 * The declarations among an element's zeebe:property entries; throws an Error naming the bad one.
 * `where` is 'start' for a top-level none or message start event, otherwise what the element is.
 */
export function startVariablesOf(
  properties: { name?: string; value?: string }[],
  where: 'start' | string,
): Record<string, VariableSpec> | undefined {
  const declared = properties.filter((p) => p.name?.startsWith(START_VARIABLE_PREFIX));
  if (declared.length === 0) return undefined;
  if (where !== 'start')
    throw new Error(
      `${START_VARIABLE_PREFIX}* properties declare start variables and belong on a none or message start event of the process, not on ${where}`,
    );
  const variables: Record<string, VariableSpec> = {};
  for (const property of declared) {
    const name = property.name!.slice(START_VARIABLE_PREFIX.length);
    if (!VARIABLE_NAME.test(name))
      throw new Error(`'${property.name}' does not name a variable (letters, digits, _ and dotted paths)`);
    if (variables[name]) throw new Error(`start variable '${name}' is declared twice`);
    try {
      variables[name] = parseVariableSpec(property.value ?? '');
    } catch (error) {
      throw new Error(
        `start variable '${name}' has the declaration '${property.value ?? ''}': ${(error as Error).message}`,
      );
    }
  }
  return variables;
}

const schemas = new WeakMap<VariableSpec, ReturnType<typeof variableSchema>>();

function schemaOf(spec: VariableSpec) {
  let schema = schemas.get(spec);
  if (!schema) schemas.set(spec, (schema = variableSchema(spec)));
  return schema;
}

/** The first declared start variable that does not match, or null. */
export function startVariableProblem(
  declared: Record<string, VariableSpec>,
  variables: Record<string, unknown>,
): VariableProblem | null {
  for (const [name, spec] of Object.entries(declared)) {
    const problem = checkVariable(name, spec, valueAt(variables, name), schemaOf(spec));
    if (problem) return problem;
  }
  return null;
}

/**
 * Refuses start variables that do not match what the start event declares:
 * OPERON_ERR_START_VARIABLES (400) with `details.field`. Pure; called before any row is written.
 */
export function checkStartVariables(
  graph: ProcessGraph,
  startEventId: string | undefined,
  variables: Record<string, unknown>,
): void {
  const start = startEventId
    ? graph.startEvents.find((s) => s.elementId === startEventId)
    : graph.startEvents.find((s) => s.kind === 'none');
  if (!start?.variables) return;
  const problem = startVariableProblem(start.variables, variables);
  if (!problem) return;
  throw new OperonError(
    'OPERON_ERR_START_VARIABLES',
    `Start variable '${problem.field}' of process '${graph.bpmnProcessId}' ${problem.reason}`,
    {
      details: {
        field: problem.field,
        reason: problem.reason,
        expected: problem.expected,
        bpmnProcessId: graph.bpmnProcessId,
        elementId: start.elementId,
      },
    },
  );
}

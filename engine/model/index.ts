/**
 * The BPMN model: XML -> validated, plain ProcessGraph (see graph.ts).
 */
export type * from './graph.ts';
export { elementOfType, ELEMENT_TYPES, isActivity, userTaskOf } from './graph.ts';
export { parseDefinitions, type ParseOptions } from './parse.ts';
export { checkStartVariables, START_VARIABLE_PREFIX } from './start-variables.ts';
export type { VariableSpec, VariableType } from './typed-variables.ts';

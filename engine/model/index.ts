/**
 * The BPMN model: XML -> validated, plain ProcessGraph (see graph.ts).
 */
export type * from './graph.ts';
export { parseDefinitions, type ParseOptions } from './parse.ts';

/**
 * The BPMN model: XML -> validated, plain ProcessGraph (see graph.ts).
 */
export type * from './graph.ts';
export { parseDefinitions } from './parse.ts';

/**
 * DMN 1.3 models as plain data: what the evaluator (evaluate.ts) needs from a `.dmn` file, read
 * with dmn-moddle. Only decision tables and literal expressions are kept; a decision of any other
 * kind (context, invocation, boxed function) is refused at deployment with its element id.
 */

export type HitPolicy = 'UNIQUE' | 'FIRST' | 'PRIORITY' | 'ANY' | 'COLLECT' | 'RULE ORDER' | 'OUTPUT ORDER';
export type Aggregation = 'SUM' | 'MIN' | 'MAX' | 'COUNT';

export interface DecisionTable {
  hitPolicy: HitPolicy;
  aggregation?: Aggregation;
  /**
   * FEEL input expressions, in column order; `typeRef` is the input expression's declared type
   * (a `date`, `dateTime`, `time` or duration column compares its string values as that type).
   */
  inputs: Array<{ id: string; label?: string; expression: string; typeRef?: string }>;
  /** Output columns; `values` are the allowed output values in priority order (PRIORITY, OUTPUT ORDER). */
  outputs: Array<{ id: string; name: string; label?: string; values?: string[] }>;
  rules: Array<{ id: string; inputEntries: string[]; outputEntries: string[] }>;
}

export interface Decision {
  id: string;
  name?: string;
  /** zeebe:versionTag of the decision (Camunda 8.6+), for business rule tasks that bind by version tag. */
  versionTag?: string;
  /** Ids of the decisions this one requires (informationRequirement/requiredDecision). */
  requires: string[];
  table?: DecisionTable;
  literal?: { expression: string; variable?: string };
}

export interface DmnModel {
  /** The definitions' id: the decision requirements graph (DRG) id. */
  id: string;
  name?: string;
  decisions: Decision[];
}

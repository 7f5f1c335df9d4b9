export type { Decision, DecisionTable, DmnModel, HitPolicy, Aggregation } from './model.ts';
export { isDmnFile, parseDmn } from './parse.ts';
export {
  evaluateDecision,
  evaluateTable,
  entryMatches,
  type DecisionResult,
  type EvaluatedDecision,
  type EvaluateOptions,
  type FeelEvaluator,
} from './evaluate.ts';

/** Conditions of the sequence flows that leave an exclusive or inclusive gateway. */
import { IncidentSignal, type Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';

/** A flow's FEEL condition, which must give a boolean (null is an incident too: a variable may be missing). */
export function booleanCondition(
  x: Execution,
  ei: ElementInstance,
  flowId: string,
  condition: string,
  context: Record<string, unknown>,
): boolean {
  const value = x.feel(condition, ei.key, context);
  if (typeof value === 'boolean') return value;
  const why =
    value === null
      ? 'null (a variable it uses may be missing, or of another type than it is compared with)'
      : JSON.stringify(value);
  throw new IncidentSignal(
    'OPERON_ERR_CONDITION_NOT_BOOLEAN',
    `condition "${condition}" of sequence flow "${flowId}" gave ${why}, expected a boolean`,
    { flowId, expression: condition },
  );
}

/**
 * Inclusive gateway. As a fork it activates like this; as a join (more than one incoming flow) the
 * core holds its tokens and fires it once no other token of the scope can still reach it
 * (inclusive-join.ts).
 */
import type { ConditionalGateway } from '../../model/graph.ts';
import { IncidentSignal, type Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import { booleanCondition } from './conditions.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

export const inclusiveGateway: ElementKind<ConditionalGateway> = {
  activate: forkOverTrueFlows,
  closeWaits: opensNoWait,
};

/** Inclusive fork: every flow whose condition is true (a flow without one always), else the default flow. */
function forkOverTrueFlows(x: Execution, ei: ElementInstance, element: ConditionalGateway): void {
  if (element.outgoing.length === 0) return x.complete(ei);
  const context = x.visibleVariables(ei.key);
  const taken: string[] = [];
  for (const flowId of element.outgoing) {
    if (flowId === element.defaultFlow) continue;
    const condition = x.graph.flows[flowId]!.condition;
    if (condition === undefined || booleanCondition(x, ei, flowId, condition, context)) taken.push(flowId);
  }
  if (taken.length === 0 && element.defaultFlow !== undefined) taken.push(element.defaultFlow);
  if (taken.length === 0) {
    throw new IncidentSignal(
      'OPERON_ERR_NO_OUTGOING_FLOW',
      `no condition of inclusive gateway "${element.id}" is true and it has no default flow`,
      { flowIds: element.outgoing },
    );
  }
  x.complete(ei, undefined, taken);
}

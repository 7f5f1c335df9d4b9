/** Exclusive gateway: leaves over the first flow whose condition is true, else over its default flow. */
import type { ConditionalGateway } from '../../model/graph.ts';
import { IncidentSignal, type Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import { booleanCondition } from './conditions.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

export const exclusiveGateway: ElementKind<ConditionalGateway> = {
  activate: leaveOverFirstTrueFlow,
  closeWaits: opensNoWait,
};

function leaveOverFirstTrueFlow(x: Execution, ei: ElementInstance, element: ConditionalGateway): void {
  if (element.outgoing.length === 0) return x.complete(ei);
  const context = x.visibleVariables(ei.key);
  for (const flowId of element.outgoing) {
    if (flowId === element.defaultFlow) continue;
    const condition = x.graph.flows[flowId]!.condition;
    if (condition === undefined) return x.complete(ei, undefined, [flowId]);
    if (booleanCondition(x, ei, flowId, condition, context)) return x.complete(ei, undefined, [flowId]);
  }
  if (element.defaultFlow !== undefined) return x.complete(ei, undefined, [element.defaultFlow]);
  throw new IncidentSignal(
    'OPERON_ERR_NO_OUTGOING_FLOW',
    `no condition of exclusive gateway "${element.id}" is true and it has no default flow`,
    { flowIds: element.outgoing },
  );
}

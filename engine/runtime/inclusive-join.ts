/**
 * The inclusive (OR) join: it fires when it holds at least one token and no other token of its
 * scope can still reach one of its empty incoming flows. This is what makes an inclusive join
 * correct on unstructured graphs, where "how many branches were started" is not known locally.
 *
 * "Can still reach" is the BPMN 2.0 rule (13.3.4): only paths that do not pass through the join
 * itself count, and a token that can also reach one of the join's filled incoming flows does not
 * hold it back. Without that, a join inside a loop would wait for tokens that can come back to it
 * only after it fired (a deadlock with a parallel join on the same loop).
 */
import { boundaryEventsOf, type ProcessGraph } from '../model/graph.ts';
import type { Execution } from './execution.ts';

const avoidCache = new WeakMap<ProcessGraph, Map<string, Set<string>>>();

/** Element ids reachable from `elementId` over sequence flows (and boundary events) without passing through `avoidId`. */
function reachableAvoiding(graph: ProcessGraph, elementId: string, avoidId: string): Set<string> {
  let byPair = avoidCache.get(graph);
  if (!byPair) avoidCache.set(graph, (byPair = new Map()));
  const cacheKey = `${avoidId}|${elementId}`;
  let reach = byPair.get(cacheKey);
  if (reach) return reach;
  reach = new Set();
  const stack = [elementId];
  while (stack.length > 0) {
    const element = graph.elements[stack.pop()!]!;
    const next = [...element.outgoing.map((id) => graph.flows[id]!.targetId), ...boundaryEventsOf(element)];
    for (const id of next) {
      if (reach.has(id)) continue;
      reach.add(id);
      if (id !== avoidId) stack.push(id);
    }
  }
  byPair.set(cacheKey, reach);
  return reach;
}

/** Can a token at `position` reach the incoming flow `flowId` of `gatewayId` without passing through the gateway? */
function reachesFlow(graph: ProcessGraph, position: string, gatewayId: string, flowId: string): boolean {
  const source = graph.flows[flowId]!.sourceId;
  if (source === gatewayId) return false;
  return position === source || reachableAvoiding(graph, position, gatewayId).has(source);
}

/** Fires every inclusive join that may fire now; returns true when one fired (the agenda has work again). */
export function fireInclusiveJoins(x: Execution): boolean {
  const { graph, state } = x;
  for (const joinKey of Object.keys(state.joins)) {
    const [scopeKey, gatewayId] = joinKey.split('|') as [string, string];
    const gateway = graph.elements[gatewayId]!;
    if (gateway.type !== 'inclusiveGateway') continue;
    const waiting = state.joins[joinKey]!;
    const emptyFlows = gateway.incoming.filter((id) => !waiting[id]);
    if (emptyFlows.length > 0) {
      const filledFlows = gateway.incoming.filter((id) => waiting[id]);
      const positions: string[] = [];
      for (const ei of Object.values(state.elements))
        if (ei.flowScopeKey === scopeKey && ei.key !== scopeKey && ei.elementId !== gatewayId)
          positions.push(ei.elementId);
      for (const otherKey of Object.keys(state.joins)) {
        if (otherKey !== joinKey && otherKey.startsWith(`${scopeKey}|`))
          positions.push(otherKey.slice(scopeKey.length + 1));
      }
      const reaches = (position: string, flowId: string) => reachesFlow(graph, position, gatewayId, flowId);
      const blocked = positions.some(
        (p) => emptyFlows.some((flow) => reaches(p, flow)) && !filledFlows.some((flow) => reaches(p, flow)),
      );
      if (blocked) continue;
    }
    x.fireJoin(gateway, scopeKey);
    return true;
  }
  return false;
}

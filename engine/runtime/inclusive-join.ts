/**
 * The inclusive (OR) join: it fires when it holds at least one token and no other token of its
 * scope can still reach one of its empty incoming flows. This is what makes an inclusive join
 * correct on unstructured graphs, where "how many branches were started" is not known locally.
 */
import type { ProcessGraph } from '../model/graph.ts';
import type { Execution } from './execution.ts';

const reachCache = new WeakMap<ProcessGraph, Map<string, Set<string>>>();

/** Element ids reachable from `elementId` over sequence flows (and a host's boundary events). */
export function reachableFrom(graph: ProcessGraph, elementId: string): Set<string> {
  let byElement = reachCache.get(graph);
  if (!byElement) reachCache.set(graph, (byElement = new Map()));
  let reach = byElement.get(elementId);
  if (reach) return reach;
  reach = new Set();
  const stack = [elementId];
  while (stack.length > 0) {
    const element = graph.elements[stack.pop()!]!;
    const next = [...element.outgoing.map((id) => graph.flows[id]!.targetId), ...(element.boundaryEvents ?? [])];
    for (const id of next) {
      if (!reach.has(id)) {
        reach.add(id);
        stack.push(id);
      }
    }
  }
  byElement.set(elementId, reach);
  return reach;
}

/** Fires every inclusive join that may fire now; returns true when one fired (the agenda has work again). */
export function fireInclusiveJoins(x: Execution): boolean {
  const { graph, state } = x;
  for (const joinKey of Object.keys(state.joins)) {
    const [scopeKey, gatewayId] = joinKey.split('|') as [string, string];
    const gateway = graph.elements[gatewayId]!;
    if (gateway.type !== 'inclusiveGateway') continue;
    const waiting = state.joins[joinKey]!;
    const emptyFlowSources = gateway.incoming.filter((id) => !waiting[id]).map((id) => graph.flows[id]!.sourceId);
    if (emptyFlowSources.length > 0) {
      const positions: string[] = [];
      for (const ei of Object.values(state.elements)) if (ei.flowScopeKey === scopeKey && ei.key !== scopeKey) positions.push(ei.elementId);
      for (const otherKey of Object.keys(state.joins)) {
        if (otherKey !== joinKey && otherKey.startsWith(`${scopeKey}|`)) positions.push(otherKey.slice(scopeKey.length + 1));
      }
      const blocked = positions.some((p) => emptyFlowSources.some((source) => p === source || reachableFrom(graph, p).has(source)));
      if (blocked) continue;
    }
    x.fireJoin(gateway, scopeKey);
    return true;
  }
  return false;
}

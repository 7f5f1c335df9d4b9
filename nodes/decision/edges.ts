/**
 * Policy edges as a selective-prediction signal. A written policy puts each limit on one side of
 * its threshold: the routing policy sends an urgent parcel by courier up to 300 km *inclusive*, so
 * 300 km is treated as 299 km is; the lending policy approves up to 30,000 inclusive, and rejects
 * from 40,000 of debts on, so 40,000 is treated as 40,001. A model learns such a limit from
 * examples drawn over a continuous range, in which the threshold value itself is rare: the shipped
 * order model routes every urgent parcel at exactly 300 km to the warehouse, at 0.99, and by
 * courier at 299 km.
 *
 * A model folder's config.json may list such edges (`edges`: the field, the threshold `at`, and a
 * value `like` that the policy treats the same). An automated answer on a case whose number lies
 * between `like` (excluded) and `at` (included) is scored again with the number set to `like`;
 * another label sends the case to a person. It reads the model's answers on both sides, never
 * decides, and costs one forward pass only for a case that sits on an edge.
 */
import { valueAt } from '../../engine/model/typed-variables.ts';
import { type DecisionInputs, withValueAt } from './inputs.ts';

/** One threshold of the written policy and a value the policy treats as it treats the threshold. */
export interface PolicyEdge {
  field: string;
  at: number;
  like: number;
}

export type EdgeSettings = PolicyEdge[];

/** A copy of a case with the number on an edge set to the value the policy treats the same. */
export interface EdgeCopy {
  field: string;
  from: number;
  to: number;
  variables: Record<string, unknown>;
}

/** Why `settings` cannot be used with these declared `inputs`, or null when it can (checked at load). */
export function edgesError(settings: unknown, inputs?: DecisionInputs): string | null {
  if (settings === undefined) return null;
  if (!Array.isArray(settings)) return 'edges must be a list of { field, at, like }';
  for (const [i, edge] of settings.entries()) {
    const { field, at, like } = (edge ?? {}) as Partial<PolicyEdge>;
    if (typeof field !== 'string' || typeof at !== 'number' || typeof like !== 'number')
      return `edges[${i}] must be { field, at, like } with a field name and two numbers`;
    if (!Number.isFinite(at) || !Number.isFinite(like) || at === like)
      return `edges[${i}] (${field}): at and like must be two different finite numbers`;
    const type = inputs?.[field]?.type;
    if (type !== 'number' && type !== 'integer')
      return `edges[${i}] names ${field}, which is not a declared number or integer input (config.json \`inputs\`)`;
  }
  return null;
}

/** The copies of `variables` for each edge its numbers sit on: the number set to the edge's `like`. */
export function edgeCopies(edges: readonly PolicyEdge[], variables: Record<string, unknown>): EdgeCopy[] {
  const out: EdgeCopy[] = [];
  for (const { field, at, like } of edges) {
    const from = valueAt(variables, field);
    if (typeof from !== 'number' || !onEdge(from, at, like)) continue;
    out.push({ field, from, to: like, variables: withValueAt(variables, field.split('.'), like) });
  }
  return out;
}

/** Whether `value` lies between `like` (excluded) and `at` (included). */
export function onEdge(value: number, at: number, like: number): boolean {
  return like < at ? value > like && value <= at : value >= at && value < like;
}

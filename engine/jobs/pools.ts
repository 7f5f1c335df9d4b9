/**
 * Worker capacity: the in-process worker splits its slots into pools, one per group of node types
 * (`bot`, `decision`, `http`, `builtin`, or a node type's own name). Each pool claims only its own
 * task types with only its own free slots, so eight slow bot runs never keep a `noop` or a decision
 * waiting: a full pool stops claiming, the others go on.
 *
 * A node type names its pool (`NodeType.pool`); without one it is a pool of its own. Capacity per
 * pool: the `capacity` setting (`--capacity bot=2,decision=4`, `OPERON_CAPACITY`), else the
 * worker's `concurrency` when given, else the pool's default sized to this machine.
 */

/** The pools of the shipped node types. */
export const POOLS = {
  /** Browser runs (`bot:*`): one Chromium context each. */
  bot: 'bot',
  /** Model inferences (`decision:*`): CPU-bound, milliseconds each. */
  decision: 'decision',
  /** Calls to outside services (`http`): mostly waiting on the network. */
  http: 'http',
  /** `noop`, `fail`: no work at all. */
  builtin: 'builtin',
} as const;

export { defaultBotContexts, thisMachine, type Machine } from '../nodes/machine.ts';
import { defaultBotContexts, thisMachine, type Machine } from '../nodes/machine.ts';
import type { PoolStats } from '../api.ts';

export type { PoolStats };

/** A pool's slots when nothing configures them. */
export function defaultCapacity(pool: string, machine: Machine = thisMachine()): number {
  switch (pool) {
    case POOLS.bot:
      return defaultBotContexts(machine);
    case POOLS.decision:
      return Math.max(1, machine.cores);
    case POOLS.builtin:
      return 16;
    default:
      return 8;
  }
}

export interface PoolPlan {
  name: string;
  /** Node names whose jobs this pool claims (`bot` = every `bot:*` type). */
  nodeNames: string[];
  capacity: number;
}

export interface CapacitySettings {
  /** Slots by pool name or node type name; a node type named here gets a pool of its own. */
  capacity?: Record<string, number>;
  /** Slots of every pool `capacity` does not name (the old single `concurrency`). */
  concurrency?: number;
}

/**
 * The pools for these node types. Pools with capacity 0 are left out (this process does not run
 * those types; another worker may). `unknown`: capacity keys that name neither a pool nor a node.
 */
export function planPools(
  nodes: readonly { name: string; pool?: string }[],
  settings: CapacitySettings = {},
  machine: Machine = thisMachine(),
): { pools: PoolPlan[]; unknown: string[] } {
  const capacity = settings.capacity ?? {};
  const byPool = new Map<string, string[]>();
  for (const node of nodes) {
    const pool = Object.hasOwn(capacity, node.name) ? node.name : (node.pool ?? node.name);
    byPool.set(pool, [...(byPool.get(pool) ?? []), node.name]);
  }
  const pools = [...byPool].map(([name, nodeNames]) => ({
    name,
    nodeNames,
    capacity: capacity[name] ?? settings.concurrency ?? defaultCapacity(name, machine),
  }));
  return {
    pools: pools.filter((pool) => pool.capacity > 0),
    unknown: Object.keys(capacity).filter((key) => !byPool.has(key)),
  };
}

/**
 * Parses `bot=2,decision=4` (CLI `--capacity`, `OPERON_CAPACITY`). Throws naming the entry that
 * is not `name=N` with N a whole number ≥ 0.
 */
export function parseCapacity(text: string, source = '--capacity'): Record<string, number> {
  const capacity: Record<string, number> = {};
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const match = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(\d+)\s*$/.exec(entry);
    if (!match) throw new Error(`${source}: '${entry.trim()}' is not <pool>=<slots> (e.g. bot=2,decision=4)`);
    capacity[match[1]!] = Number(match[2]);
  }
  return capacity;
}

/** `OPERON_CAPACITY` parsed, or {} when unset. */
export function environmentCapacity(env: NodeJS.ProcessEnv = process.env): Record<string, number> {
  return env.OPERON_CAPACITY ? parseCapacity(env.OPERON_CAPACITY, 'OPERON_CAPACITY') : {};
}

/** What a pool is doing right now, for logs and GET /metrics. */

/** One pool's slots and its claim loop's wake-up state. */
export class JobPool implements PoolPlan {
  readonly name: string;
  readonly nodeNames: string[];
  readonly capacity: number;
  busy = 0;
  claimed = 0;
  waitSeconds = 0;
  // A finished job frees a slot; `wakeRequested` keeps a wake-up that arrives before the loop waits.
  wakeRequested = false;
  resolveWait: (() => void) | undefined;

  constructor(plan: PoolPlan) {
    this.name = plan.name;
    this.nodeNames = plan.nodeNames;
    this.capacity = plan.capacity;
  }

  wake(): void {
    this.wakeRequested = true;
    this.resolveWait?.();
  }

  taken(waitedMs: number): void {
    this.busy += 1;
    this.claimed += 1;
    this.waitSeconds += Math.max(0, waitedMs) / 1000;
  }

  freed(): void {
    this.busy -= 1;
    this.wake();
  }

  stats(): PoolStats {
    const { name, nodeNames, capacity, busy, claimed, waitSeconds } = this;
    return { name, nodeNames: [...nodeNames], capacity, busy, claimed, waitSeconds };
  }
}

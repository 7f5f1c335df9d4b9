/**
 * Concurrency limits written in the model (zeebe:properties), enforced by the claim query across
 * every worker that shares the database (engine/jobs/claim-jobs.ts):
 *
 * - `operon:maxConcurrent` = `N` on a task: at most N jobs of this task (all instances, all
 *   versions of the process) run at once.
 * - `operon:maxConcurrent` = `N` on the process: at most N jobs of the process run at once.
 * - `operon:capacity` = `bot=1,http=2` on the process: at most N of its jobs of that node type run
 *   at once; a key matches the task type itself and every `<key>:<name>` type (`bot` = `bot:*`).
 *
 * A job carries its limits as `{ <limit key>: N }` (`jobs.concurrency_limits`); the key names the
 * scope, so jobs of different versions of one process share it.
 */
import type { ListenerEventType, ProcessGraph } from './graph.ts';

export const MAX_CONCURRENT_PROPERTY = 'operon:maxConcurrent';
export const CAPACITY_PROPERTY = 'operon:capacity';

/** The limits of a process (`ProcessGraph.jobLimits`). */
export interface ProcessJobLimits {
  /** `operon:maxConcurrent` on the process. */
  maxConcurrent?: number;
  /** `operon:capacity` on the process: slots by node type or task type. */
  capacity?: Record<string, number>;
}

/** A limit key (`jobs.concurrency_limits`) to the number of its jobs that may run at once. */
export type JobLimits = Record<string, number>;

/** Parses a whole number ≥ 1, or undefined. */
function slots(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return n >= 1 && Number.isSafeInteger(n) ? n : undefined;
}

/** `operon:maxConcurrent`: the number, or a message saying what is wrong with it. */
export function parseMaxConcurrent(value: string): number | string {
  return slots(value) ?? `${MAX_CONCURRENT_PROPERTY} must be a whole number of at least 1, not "${value}"`;
}

/** `operon:capacity` (`bot=1,http=2`): the slots by key, or a message naming the entry that is wrong. */
export function parseProcessCapacity(value: string): Record<string, number> | string {
  const capacity: Record<string, number> = {};
  const entries = value.split(',').filter((entry) => entry.trim() !== '');
  if (entries.length === 0) return `${CAPACITY_PROPERTY} is empty; write <node type>=<slots>, e.g. bot=1,http=2`;
  for (const entry of entries) {
    const match = /^\s*([A-Za-z0-9_.:-]+)\s*=\s*(.*?)\s*$/.exec(entry);
    const n = match ? slots(match[2]!) : undefined;
    if (!match || n === undefined)
      return `${CAPACITY_PROPERTY}: '${entry.trim()}' is not <node type>=<slots> with slots a whole number of at least 1 (e.g. bot=1,http=2)`;
    if (Object.hasOwn(capacity, match[1]!)) return `${CAPACITY_PROPERTY} names '${match[1]}' twice`;
    capacity[match[1]!] = n;
  }
  return capacity;
}

/** Does capacity key `key` cover task type `type` (`bot` covers `bot` and `bot:credit-check`)? */
export function coversType(key: string, type: string): boolean {
  return type === key || type.startsWith(`${key}:`);
}

/** The limit key of a task's `operon:maxConcurrent`. */
export const taskLimitKey = (bpmnProcessId: string, elementId: string) => `task/${bpmnProcessId}/${elementId}`;
/** The limit key of a process's `operon:maxConcurrent` (no node type) or of one `operon:capacity` entry. */
export const processLimitKey = (bpmnProcessId: string, nodeType?: string) =>
  nodeType === undefined ? `process/${bpmnProcessId}` : `process/${bpmnProcessId}/${nodeType}`;

/**
 * The limits a new job is under: the process's own (`operon:maxConcurrent`, each `operon:capacity`
 * entry covering its type) and, for a task's own job (not a listener's), the task's
 * `operon:maxConcurrent`. Undefined when none applies.
 */
export function jobLimitsOf(
  graph: ProcessGraph,
  elementId: string,
  taskType: string,
  listener?: ListenerEventType,
): JobLimits | undefined {
  const limits: JobLimits = {};
  const process = graph.jobLimits;
  if (process?.maxConcurrent !== undefined) limits[processLimitKey(graph.bpmnProcessId)] = process.maxConcurrent;
  for (const [key, n] of Object.entries(process?.capacity ?? {}))
    if (coversType(key, taskType)) limits[processLimitKey(graph.bpmnProcessId, key)] = n;
  const task = listener === undefined ? graph.elements[elementId]?.maxConcurrent : undefined;
  if (task !== undefined) limits[taskLimitKey(graph.bpmnProcessId, elementId)] = task;
  return Object.keys(limits).length > 0 ? limits : undefined;
}

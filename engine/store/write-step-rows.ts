/**
 * The plain rows one step writes (element instances activated and ended, jobs created, history),
 * written in ONE statement: data-modifying CTEs over JSON record sets. A step's round trips are
 * what its latency is made of on a busy machine; this saves three to five of them per step.
 */
import type { Db, HistoryEntry } from './rows.ts';

/** A process instance row as a batch of steps writes it (step-batch.ts). */
export interface InstanceWrite {
  id: string;
  state: string;
  variables: unknown;
  snapshot: unknown;
  /** Only for a new instance. */
  definition_id?: string;
  bpmn_process_id?: string;
  version?: number;
  business_key?: string | null;
  /** Who started it (docs/security.md). */
  started_by?: string | null;
  /** For a child of a call activity: the calling instance and the call activity's element instance. */
  parent_instance_id?: string | null;
  parent_element_instance_key?: string | null;
  /** W3C trace context of the start (docs/observability.md). */
  trace_parent?: string | null;
  trace_state?: string | null;
}

export interface StepRows {
  /** New instances (started by a batch), written before the rows that reference them. */
  instancesInserted: InstanceWrite[];
  /** Instances whose step result replaces their state, variables and snapshot (row_version + 1). */
  instancesUpdated: InstanceWrite[];
  /**
   * Instances that ended in these steps: whatever they still wait on is closed in the same
   * statement (`instanceEndParts`), which returns the ids of the jobs it cancelled.
   */
  instancesEnded: string[];
  /** New element instance rows, in activation order (state already final when they ended in this step). */
  elementsActivated: Record<string, unknown>[];
  /** Endings of element instances activated in earlier steps, by `endedKey(instance, key)`. */
  elementsEnded: Map<string, { instanceId: string; key: string; state: 'completed' | 'terminated' }>;
  jobs: Record<string, unknown>[];
  history: HistoryEntry[];
}

export function emptyStepRows(history: HistoryEntry[] = []): StepRows {
  return {
    instancesInserted: [],
    instancesUpdated: [],
    instancesEnded: [],
    elementsActivated: [],
    elementsEnded: new Map(),
    jobs: [],
    history,
  };
}

/** Element instance keys are unique within an instance; rows of several instances share one `StepRows`. */
export function endedKey(instanceId: string, key: string): string {
  return `${instanceId}/${key}`;
}

/**
 * CTEs that close what ended instances still wait on: jobs, timers, subscriptions, user tasks and
 * incidents, and element instances left active, except `endedHere` ("instance/key" of element
 * instances another CTE of the same statement ends: a row must not be updated twice in one
 * statement). The cancelled jobs come back from the `ended_jobs` CTE.
 */
export function instanceEndParts(
  instanceIds: string[],
  now: Date,
  endedHere: string[] = [],
): { parts: string[]; bindings: unknown[] } {
  return {
    parts: [
      `ended_jobs AS (
        UPDATE jobs SET state = 'cancelled', ended_at = ?, updated_at = ?
         WHERE process_instance_id = ANY(?::uuid[]) AND state IN ('ready', 'leased', 'failed') RETURNING id)`,
      `ended_timers AS (UPDATE timers SET state = 'cancelled' WHERE process_instance_id = ANY(?::uuid[]) AND state = 'scheduled')`,
      `ended_subscriptions AS (UPDATE message_subscriptions SET state = 'closed', closed_at = ? WHERE process_instance_id = ANY(?::uuid[]) AND state = 'open')`,
      `ended_tasks AS (UPDATE user_tasks SET state = 'cancelled', completed_at = ? WHERE process_instance_id = ANY(?::uuid[]) AND state IN ('open', 'assigning', 'updating', 'completing', 'canceling'))`,
      `ended_incidents AS (UPDATE incidents SET state = 'resolved', resolved_at = ? WHERE process_instance_id = ANY(?::uuid[]) AND state = 'open')`,
      `ended_elements AS (
        UPDATE element_instances SET state = 'terminated', ended_at = ?
         WHERE process_instance_id = ANY(?::uuid[]) AND state = 'active' AND (process_instance_id::text || '/' || element_instance_key) <> ALL(?::text[]))`,
    ],
    bindings: [
      now,
      now,
      instanceIds,
      instanceIds,
      now,
      instanceIds,
      now,
      instanceIds,
      now,
      instanceIds,
      now,
      instanceIds,
      endedHere,
    ],
  };
}

/**
 * Writes and empties `rows` (of one step, or of several instances' steps written together); one
 * round trip, none when there is nothing to write. Returns the ids of jobs cancelled because their
 * instance ended.
 */
export async function writeStepRows(
  tx: Db,
  now: Date,
  rows: StepRows,
  /** CTEs written after the rows' own, in the same statement (the start batch's audit rows, `auditAppendParts`). */
  after: { parts: string[]; bindings: unknown[] } = { parts: [], bindings: [] },
): Promise<string[]> {
  const parts: string[] = [];
  const bindings: unknown[] = [];
  // Foreign keys are checked at the end of the statement, so new instances and their rows can go together.
  if (rows.instancesInserted.length > 0) {
    parts.push(`instances_inserted AS (
      INSERT INTO process_instances (id, definition_id, bpmn_process_id, version, business_key, started_by, parent_instance_id, parent_element_instance_key, state, variables, snapshot, started_at, updated_at, ended_at,
                                     trace_parent, trace_state)
      SELECT id, definition_id, bpmn_process_id, version, business_key, started_by, parent_instance_id, parent_element_instance_key, state, variables, snapshot, ?, ?, CASE WHEN state <> 'active' THEN ?::timestamptz END,
             trace_parent, trace_state
        FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, definition_id uuid, bpmn_process_id text, version int, business_key text, started_by text, parent_instance_id uuid,
             parent_element_instance_key text, state text, variables jsonb, snapshot jsonb, trace_parent text, trace_state text))`);
    bindings.push(now, now, now, JSON.stringify(rows.instancesInserted));
  }
  if (rows.instancesUpdated.length > 0) {
    parts.push(`instances_updated AS (
      UPDATE process_instances AS p
         SET state = r.state, variables = r.variables, snapshot = r.snapshot, row_version = p.row_version + 1,
             updated_at = ?, ended_at = CASE WHEN r.state = 'active' THEN NULL ELSE ?::timestamptz END
        FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, state text, variables jsonb, snapshot jsonb)
       WHERE p.id = r.id)`);
    bindings.push(now, now, JSON.stringify(rows.instancesUpdated));
  }
  if (rows.elementsActivated.length > 0) {
    parts.push(`elements_activated AS (
      INSERT INTO element_instances (process_instance_id, element_instance_key, element_id, element_type, element_name, parent_key, state, started_at, ended_at)
      SELECT process_instance_id, element_instance_key, element_id, element_type, element_name, parent_key, state, started_at, ended_at
        FROM ROWS FROM (jsonb_to_recordset(?::jsonb) AS (process_instance_id uuid, element_instance_key text, element_id text, element_type text,
               element_name text, parent_key text, state text, started_at timestamptz, ended_at timestamptz))
             WITH ORDINALITY AS r(process_instance_id, element_instance_key, element_id, element_type, element_name, parent_key, state, started_at, ended_at, ord)
       ORDER BY ord)`);
    bindings.push(JSON.stringify(rows.elementsActivated));
  }
  if (rows.elementsEnded.size > 0) {
    const ended = [...rows.elementsEnded.values()];
    parts.push(`elements_ended AS (
      UPDATE element_instances AS e SET state = u.state, ended_at = ?
        FROM unnest(?::uuid[], ?::text[], ?::text[]) AS u(instance_id, key, state)
       WHERE e.process_instance_id = u.instance_id AND e.element_instance_key = u.key)`);
    bindings.push(
      now,
      ended.map((row) => row.instanceId),
      ended.map((row) => row.key),
      ended.map((row) => row.state),
    );
  }
  if (rows.jobs.length > 0) {
    parts.push(`jobs_created AS (
      INSERT INTO jobs (id, process_instance_id, element_instance_key, element_id, bpmn_process_id, type, state, retries, max_retries, run_at, headers, variables,
                        listener_event_type, properties, concurrency_limits, trace_parent, trace_state)
      SELECT id, process_instance_id, element_instance_key, element_id, bpmn_process_id, type, state, retries, max_retries, run_at, headers, variables,
             listener_event_type, properties, concurrency_limits, trace_parent, trace_state
        FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, process_instance_id uuid, element_instance_key text, element_id text, bpmn_process_id text, type text,
             state text, retries int, max_retries int, run_at timestamptz, headers jsonb, variables jsonb, listener_event_type text, properties jsonb,
             concurrency_limits jsonb, trace_parent text, trace_state text))`);
    bindings.push(JSON.stringify(rows.jobs));
  }
  if (rows.history.length > 0) {
    parts.push(`history_appended AS (
      INSERT INTO history (process_instance_id, element_instance_key, element_id, event_type, payload)
      SELECT process_instance_id, element_instance_key, element_id, event_type, payload
        FROM ROWS FROM (jsonb_to_recordset(?::jsonb) AS (process_instance_id uuid, element_instance_key text, element_id text, event_type text, payload jsonb))
             WITH ORDINALITY AS r(process_instance_id, element_instance_key, element_id, event_type, payload, ord)
       ORDER BY ord)`);
    bindings.push(
      JSON.stringify(
        rows.history.map((entry) => ({
          ...entry,
          element_instance_key: entry.element_instance_key ?? null,
          element_id: entry.element_id ?? null,
          payload: entry.payload ?? null,
        })),
      ),
    );
  }
  const ended = rows.instancesEnded;
  if (ended.length > 0) {
    const endedInstances = new Set(ended);
    const endedHere = [...rows.elementsEnded.values()]
      .filter((row) => endedInstances.has(row.instanceId))
      .map((row) => endedKey(row.instanceId, row.key));
    const end = instanceEndParts(ended, now, endedHere);
    parts.push(...end.parts);
    bindings.push(...end.bindings);
  }
  parts.push(...after.parts);
  bindings.push(...after.bindings);
  rows.instancesInserted = [];
  rows.instancesUpdated = [];
  rows.instancesEnded = [];
  rows.elementsActivated = [];
  rows.elementsEnded = new Map();
  rows.jobs = [];
  rows.history = [];
  if (parts.length === 0) return [];
  const { rows: cancelled } = await tx.raw(
    `WITH ${after.parts.length > 0 ? 'RECURSIVE ' : ''}${parts.join(',\n')} ${ended.length > 0 ? 'SELECT id FROM ended_jobs' : 'SELECT NULL AS id WHERE false'}`,
    bindings as never,
  );
  return (cancelled as { id: string }[]).map((row) => row.id);
}

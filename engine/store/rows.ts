/** Row shapes of the core tables (snake_case, as PostgreSQL returns them). */
import type { Knex } from 'knex';
import type { InstanceSnapshot, InstanceState } from '../runtime/contract.ts';
import type { Variables } from '../nodes/types.ts';

/** A knex instance or a transaction: store operations run inside the caller's transaction. */
export type Db = Knex | Knex.Transaction;

export interface DefinitionRow {
  id: string;
  bpmn_process_id: string;
  version: number;
  name: string | null;
  resource_name: string;
  xml: string;
  xml_hash: string;
  version_tag: string | null;
  deployed_at: Date;
  /** Time to live of ended instances (migration 000016); pg returns an interval object. */
  retention?: unknown;
}

/** What starting an instance needs of its definition (the graph comes from the cache by id). */
export type DefinitionRef = Pick<DefinitionRow, 'id' | 'bpmn_process_id' | 'version'>;

export interface InstanceRow {
  id: string;
  /** W3C trace context of the instance's start (docs/observability.md). */
  trace_parent?: string | null;
  trace_state?: string | null;
  definition_id: string;
  bpmn_process_id: string;
  version: number;
  business_key: string | null;
  /** Who started it (migration 000015): an identity id, or null when unknown. */
  started_by?: string | null;
  state: InstanceState;
  variables: Variables;
  snapshot: InstanceSnapshot;
  row_version: number;
  started_at: Date;
  updated_at: Date;
  ended_at: Date | null;
  /** Set for an instance started by a call activity (migration 000006). */
  parent_instance_id?: string | null;
  parent_element_instance_key?: string | null;
}

export interface ElementInstanceRow {
  process_instance_id: string;
  element_instance_key: string;
  seq: string;
  element_id: string;
  element_type: string;
  element_name: string | null;
  parent_key: string | null;
  state: 'active' | 'completed' | 'terminated';
  started_at: Date;
  ended_at: Date | null;
}

export type JobState = 'ready' | 'leased' | 'completed' | 'failed' | 'cancelled';

export interface JobRow {
  id: string;
  /** W3C trace context of the step that created the job (docs/observability.md). */
  trace_parent?: string | null;
  trace_state?: string | null;
  process_instance_id: string;
  element_instance_key: string;
  element_id: string;
  bpmn_process_id: string;
  type: string;
  state: JobState;
  retries: number;
  max_retries: number;
  attempt: number;
  owner: string | null;
  lease_expires_at: Date | null;
  run_at: Date;
  headers: Record<string, string>;
  variables: Variables;
  /** start / end: an execution listener's job; creating / completing: a user task's listener; null: the element's own job. */
  listener_event_type: 'start' | 'end' | 'creating' | 'assigning' | 'updating' | 'completing' | 'canceling' | null;
  properties: Record<string, string> | null;
  /** Limit key -> slots: the concurrency limits the job is under (model/job-limits.ts); null: none. */
  concurrency_limits: Record<string, number> | null;
  error_message: string | null;
  created_at: Date;
  updated_at: Date;
  ended_at: Date | null;
}

export interface TimerRow {
  id: string;
  process_instance_id: string | null;
  definition_id: string;
  timer_key: string;
  element_instance_key: string | null;
  element_id: string;
  due_at: Date;
  cycle: string | null;
  state: 'scheduled' | 'fired' | 'cancelled';
  created_at: Date;
  fired_at: Date | null;
}

export interface SubscriptionRow {
  id: string;
  process_instance_id: string | null;
  definition_id: string;
  element_instance_key: string | null;
  element_id: string;
  message_name: string;
  correlation_key: string | null;
  state: 'open' | 'closed';
}

export interface MessageRow {
  id: string;
  name: string;
  correlation_key: string;
  message_id: string | null;
  variables: Variables;
  state: 'buffered' | 'correlated' | 'expired';
  expires_at: Date;
}

export interface IncidentRow {
  id: string;
  process_instance_id: string;
  element_instance_key: string;
  element_id: string;
  job_id: string | null;
  code: string;
  message: string;
  details: Record<string, unknown> | null;
  retry_event: unknown;
  state: 'open' | 'resolved';
  created_at: Date;
  resolved_at: Date | null;
}

export interface UserTaskRow {
  id: string;
  process_instance_id: string;
  element_instance_key: string;
  element_id: string;
  name: string | null;
  assignee: string | null;
  candidate_groups: string[] | null;
  candidate_users: string[] | null;
  form_key: string | null;
  due_date: Date | null;
  follow_up_date: Date | null;
  priority: number;
  properties: Record<string, string> | null;
  state: 'open' | 'assigning' | 'updating' | 'completing' | 'canceling' | 'completed' | 'cancelled';
  variables: Variables;
  result: Variables | null;
  completed_by: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface HistoryEntry {
  process_instance_id: string;
  element_instance_key?: string | null;
  element_id?: string | null;
  event_type: string;
  payload?: Record<string, unknown> | null;
}

/** jsonb parameters must be serialized: node-postgres would turn a JS array into a PostgreSQL array. */
export function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/**
 * The engine facade: what the HTTP API, the CLI and tests call. Implemented by engine/engine.ts on
 * PostgreSQL. Every mutating call is one transaction; ids are strings (UUIDs for instances, tasks,
 * incidents and jobs).
 */
import type { Variables } from './nodes/types.ts';
import type { ElementInstanceState, InstanceState, UserTaskChange } from './runtime/contract.ts';
import type { Actor } from './store/audit-log.ts';
import type { MigrationOutcome, MigrationTarget } from './store/migrate-instance.ts';
import type { ElementMapping } from './runtime/migration.ts';
import type { BatchFilter, BatchKind, BatchRequest } from './store/batch-operations.ts';
import type { DryRunItem } from './store/batch-dry-run.ts';

export type { Actor, UserTaskChange };

/** Who asks for a change: recorded in the audit trail (`audit_log`) in the change's own transaction. */
export interface ActionOptions {
  /** Default `{ kind: 'system', id: 'embedded' }`: code that calls the engine directly. */
  actor?: Actor;
}

export interface DeployFile {
  /** File name, used in error messages. */
  name: string;
  xml: string;
}

export interface DeployedProcess {
  bpmnProcessId: string;
  version: number;
  definitionId: string;
  /** false when identical XML was already deployed (no new version). */
  created: boolean;
}

/** A DMN decision deployed from a `.dmn` file (one per dmn:decision of the file). */
export interface DeployedDecision {
  decisionId: string;
  name?: string;
  /** The decision's zeebe:versionTag, if any. */
  versionTag?: string;
  version: number;
  decisionDefinitionId: string;
  /** false when identical XML was already deployed (no new version). */
  created: boolean;
}

export interface DeploymentResult {
  processes: DeployedProcess[];
  /** DMN decisions of the deployment's `.dmn` files. */
  decisions: DeployedDecision[];
  /** Human-readable notes, e.g. task types no registered node handles (they wait for external workers). */
  warnings: string[];
}

export interface ProcessDefinitionSummary {
  definitionId: string;
  bpmnProcessId: string;
  version: number;
  name?: string;
  deployedAt: string;
}

export interface StartInstanceOptions extends ActionOptions {
  businessKey?: string;
  /** Who starts it (the caller's identity id, docs/security.md), kept in `process_instances.started_by`. */
  startedBy?: string;
  /** Pin a version; the latest when omitted. */
  version?: number;
  /** Start at a specific start event (message/timer start); the none start event when omitted. */
  startEventId?: string;
  /**
   * The latest version as the caller read it a moment ago (the webhook route reads it together with
   * the webhook configuration): the start then skips its own lookup. Without `version` only.
   */
  latest?: { id: string; bpmn_process_id: string; version: number };
  /**
   * The caller's idempotency key (engine/store/idempotency-keys.ts): written in the transaction
   * that starts the instance. When another start committed the same key first, nothing is started
   * and the call rejects with `IdempotencyKeyTaken`.
   */
  idempotency?: { scope: string; key: string; requestHash: string; statusCode: number };
  /** The caller's W3C trace context: the start's span continues its trace (docs/observability.md). */
  trace?: { traceparent: string; tracestate?: string };
}

export interface ElementInstanceView {
  elementInstanceKey: string;
  elementId: string;
  elementType: string;
  elementName?: string;
  state: ElementInstanceState;
  startedAt: string;
  endedAt?: string;
}

export interface IncidentView {
  id: string;
  instanceId: string;
  elementId: string;
  elementInstanceKey: string;
  jobId?: string;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  state: 'open' | 'resolved';
  createdAt: string;
  resolvedAt?: string;
}

export interface InstanceView {
  instanceId: string;
  bpmnProcessId: string;
  version: number;
  definitionId: string;
  businessKey?: string;
  state: InstanceState;
  variables: Variables;
  startedAt: string;
  endedAt?: string;
  /** Element instances in activation order. */
  elements: ElementInstanceView[];
  incidents: IncidentView[];
}

export interface InstanceFilter {
  bpmnProcessId?: string;
  state?: InstanceState;
  businessKey?: string;
  startedAfter?: Date;
  startedBefore?: Date;
  limit?: number;
  offset?: number;
}

export interface UserTaskView {
  id: string;
  instanceId: string;
  elementId: string;
  elementInstanceKey: string;
  name?: string;
  assignee?: string;
  candidateGroups?: string[];
  candidateUsers?: string[];
  formKey?: string;
  /** zeebe:taskSchedule, ISO 8601. */
  dueDate?: string;
  followUpDate?: string;
  /** zeebe:priorityDefinition, 0..100 (50 by default). */
  priority: number;
  /** zeebe:properties of the user task. */
  properties?: Record<string, string>;
  state: 'open' | 'assigning' | 'updating' | 'completing' | 'canceling' | 'completed' | 'cancelled';
  variables: Variables;
  createdAt: string;
  completedAt?: string;
}

/** A user task as the inbox lists it: everything but the variables (GET /api/tasks/{id} has those). */
export type UserTaskSummary = Omit<UserTaskView, 'variables'>;

/** One page of a list: at most `limit` rows after skipping `offset`; no bounds when omitted. */
export interface Page {
  limit?: number;
  offset?: number;
}

export interface UserTaskFilter extends Page {
  id?: string;
  /** Only tasks nobody holds or this person holds (the inbox of a reviewer, docs/security.md). */
  claimableBy?: string;
  state?: UserTaskView['state'];
  instanceId?: string;
  assignee?: string;
  /** Tasks listing this user among their candidate users / this group among their candidate groups. */
  candidateUser?: string;
  candidateGroup?: string;
  /** Due (or follow-up) date strictly before / after; tasks without one never match. */
  dueBefore?: Date;
  dueAfter?: Date;
  followUpBefore?: Date;
  followUpAfter?: Date;
  minPriority?: number;
  maxPriority?: number;
}

export interface IncidentFilter extends Page {
  state?: IncidentView['state'];
  instanceId?: string;
}

export interface PublishMessage {
  name: string;
  correlationKey: string;
  variables?: Variables;
  /** How long an uncorrelated message is buffered for a subscription opened later. Default 0 (not buffered). */
  timeToLiveMs?: number;
  /** The publisher's id: a publish repeating it while it is remembered (at least its time to live, default 24 h) is a duplicate. */
  messageId?: string;
}

export interface PublishedMessage {
  /** Reached an instance (a waiting subscription or a message start event). */
  correlated: boolean;
  instanceId?: string;
  /** A repeat of a remembered `messageId`: the first publish's answer; nothing changed. */
  duplicate?: true;
}

export interface ActivateJobsRequest {
  type: string;
  worker: string;
  maxJobs: number;
  /** Lease length. */
  lockMs: number;
  /** Long-poll: wait up to this long for jobs to arrive (LISTEN/NOTIFY, polling as fallback). */
  requestTimeoutMs?: number;
}

export interface ActivatedJob {
  id: string;
  type: string;
  instanceId: string;
  elementId: string;
  elementInstanceKey: string;
  bpmnProcessId: string;
  attempt: number;
  retries: number;
  worker: string;
  deadline: string;
  headers: Record<string, string>;
  variables: Variables;
  /** Set on a listener's job: `start` / `end` (zeebe:executionListener) or `creating` (zeebe:taskListener). */
  listenerEventType?: 'start' | 'end' | 'creating' | 'assigning' | 'updating' | 'completing' | 'canceling';
  /** zeebe:properties of the element. */
  properties?: Record<string, string>;
  /**
   * W3C trace context of the step that created the job (docs/observability.md): a worker that
   * traces makes its span for the job a child of it. Absent when the instance has no trace.
   */
  traceparent?: string;
  tracestate?: string;
}

/**
 * A job result (Camunda 8.8 `result` of a job completion). `denied: true` from a completing,
 * assigning or updating task listener's job rejects the user task's completion, assignment or
 * update: the task is open again, unchanged. `corrections` from an assigning or updating
 * listener's job correct the change before it takes effect (refused for other jobs). Ignored for
 * jobs that are not task listeners'.
 */
export interface JobResult {
  type?: 'userTask';
  denied?: boolean;
  deniedReason?: string;
  corrections?: JobResultCorrections;
}

/**
 * Camunda 8's job result corrections: a field that is null or absent keeps its value; "" clears
 * the assignee or a date, an empty list the candidates.
 */
export interface JobResultCorrections {
  assignee?: string | null;
  candidateUsers?: string[] | null;
  candidateGroups?: string[] | null;
  dueDate?: string | null;
  followUpDate?: string | null;
  priority?: number | null;
}

/** What a requested assignment or update did: applied at once, or `pending` while the task's listeners run. */
export interface UserTaskChangeOutcome {
  pending: boolean;
}

/** Fencing: only the worker holding the current lease (same `worker`, same `attempt`) may finish a job. */
export interface JobLease {
  worker: string;
  attempt?: number;
}

/** The answer to a call that may be a retry: `replayed` when an earlier call already did exactly this (its answer was lost); nothing changed. */
export interface Applied {
  replayed: boolean;
}

export interface Engine {
  deploy(files: DeployFile[], options?: ActionOptions): Promise<DeploymentResult>;
  /** Timer starts this engine process delayed because their process was over its start rate, in all. */
  timerStartsDelayed?(): number;
  /** Slots and use of this process's worker pools (engine/jobs/pools.ts); none without a worker. */
  workerPools?(): PoolStats[];
  /** Deployed versions, by process id then newest version first. */
  listProcesses(page?: Page): Promise<ProcessDefinitionSummary[]>;
  getProcessXml(definitionId: string): Promise<string | undefined>;

  startInstance(
    bpmnProcessId: string,
    variables?: Variables,
    options?: StartInstanceOptions,
  ): Promise<{ instanceId: string }>;
  getInstance(instanceId: string): Promise<InstanceView | undefined>;
  listInstances(filter?: InstanceFilter): Promise<InstanceView[]>;
  cancelInstance(instanceId: string, options?: ActionOptions): Promise<void>;
  /**
   * Operator token moves: put a token on each element id in `activate` (retry from an element,
   * skip ahead), then terminate each element instance key in `terminate`. OPERON_ERR_VALIDATION
   * (nothing changed) when an id or key does not fit the instance. See docs/bpmn.md.
   */
  modifyInstance?(
    instanceId: string,
    modification: { activate?: string[]; terminate?: string[] },
    options?: ActionOptions,
  ): Promise<void>;
  /**
   * Moves an active instance to another definition along `mappings` (docs/engine.md "Migrating
   * instances"). Refused (OPERON_ERR_MIGRATION_REFUSED, nothing changed) when an active element
   * cannot be mapped; `dryRun` answers the same outcome and writes nothing.
   */
  migrateInstance?(
    instanceId: string,
    migration: { target: MigrationTarget; mappings: ElementMapping[]; dryRun?: boolean },
    options?: ActionOptions,
  ): Promise<MigrationOutcome>;
  /** What a batch operation would do to each instance its filter matches now; writes nothing. */
  dryRunBatchOperation?(input: {
    kind: BatchKind;
    filter: BatchFilter;
    request?: BatchRequest;
  }): Promise<{ total: number; truncated: boolean; items: DryRunItem[] }>;
  /** Broadcasts a signal to every waiting signal catch event and signal start event of that name; returns how many receivers it reached. */
  broadcastSignal?(name: string, variables?: Variables): Promise<{ receivers: number }>;

  /** User tasks, oldest first, with their variables. */
  listUserTasks(filter?: UserTaskFilter): Promise<UserTaskView[]>;
  /** The same tasks without reading their variables (the inbox: a page of these stays small). */
  listUserTaskSummaries(filter?: UserTaskFilter): Promise<UserTaskSummary[]>;
  /** A retry by the same `completedBy` with the same variables answers `{ replayed: true }` and changes nothing. */
  completeUserTask(
    taskId: string,
    variables?: Variables,
    completedBy?: string,
    options?: ActionOptions,
  ): Promise<Applied>;
  /**
   * Assigns an open user task to `assignee` (null: unassigns it). With assigning listeners
   * (zeebe:taskListener) the task is `assigning` until their jobs completed (`pending: true`).
   */
  assignUserTask?(taskId: string, assignee: string | null, options?: ActionOptions): Promise<UserTaskChangeOutcome>;
  /** Changes an open user task's candidates, dates or priority; with updating listeners it is `updating` until their jobs completed. */
  updateUserTask?(taskId: string, change: UserTaskChange, options?: ActionOptions): Promise<UserTaskChangeOutcome>;
  /** Assignee and candidates of each task; tasks that do not exist are left out. */
  userTaskCandidates?(
    taskIds: string[],
  ): Promise<
    Map<string, { assignee: string | null; candidateGroups: string[] | null; candidateUsers: string[] | null }>
  >;

  /** A `messageId` published before (and still remembered) answers what that publish did, with `duplicate: true`, and changes nothing. */
  publishMessage(message: PublishMessage): Promise<PublishedMessage>;

  listIncidents(filter?: IncidentFilter): Promise<IncidentView[]>;
  resolveIncident(incidentId: string, options?: ActionOptions): Promise<void>;

  activateJobs(request: ActivateJobsRequest, signal?: AbortSignal): Promise<ActivatedJob[]>;
  /** A retry by the lease that already completed the job, with the same variables, answers `{ replayed: true }` and changes nothing. */
  completeJob(jobId: string, lease: JobLease, variables?: Variables): Promise<Applied>;
  /** Completes a job with a job result (Camunda 8): a completing task listener's job may deny the completion. */
  completeJobWithResult?(jobId: string, lease: JobLease, variables: Variables, result: JobResult): Promise<Applied>;
  failJob(
    jobId: string,
    lease: JobLease,
    failure: { errorMessage: string; retries?: number; retryBackoffMs?: number },
  ): Promise<void>;
  throwJobError(
    jobId: string,
    lease: JobLease,
    error: { errorCode: string; errorMessage?: string; variables?: Variables },
  ): Promise<Applied>;
  heartbeatJob(jobId: string, lease: JobLease, lockMs: number): Promise<{ deadline: string }>;

  /**
   * Backpressure without a database round trip: throws a 503 OperonError (with
   * `details.retryAfterSeconds`) when the database is known to be unreachable or, for `start`, when
   * too many starts wait. Called before a request takes anything on.
   */
  admit?(work: 'start' | 'request'): void;
  /** A request failed with this error: lets the engine notice a lost database at once. */
  reportFailure?(error: unknown): void;
  /** A request takes unusually long: the engine checks that the database still answers. */
  suspectDatabase?(): void;

  close(): Promise<void>;
}

/** One worker pool's slots and use (engine/jobs/pools.ts). */
export interface PoolStats {
  name: string;
  nodeNames: string[];
  capacity: number;
  /** Slots taken by running jobs. */
  busy: number;
  /** Jobs claimed since the worker started. */
  claimed: number;
  /** Sum over claimed jobs of the time from ready (`run_at`) to claimed, in seconds. */
  waitSeconds: number;
}

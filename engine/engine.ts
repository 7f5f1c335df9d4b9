/**
 * The PostgreSQL engine: implements the `Engine` facade (engine/api.ts) as a thin layer over the
 * store functions (engine/store/, one operation per file, in the manner of graphile-worker's
 * `src/sql/`). Each public method hands its call to one function: deployments to deploy-files.ts;
 * starts, job results, job failures, message correlations and user task completions to a group
 * commit each (engine/jobs/group-commit.ts) whose run is one batch-first store function
 * (start-instances.ts, complete-jobs.ts, fail-jobs.ts, correlate-messages.ts,
 * complete-user-tasks.ts; timers: fire-timers.ts, from the worker's timer loop); cancellation,
 * modification, migration, user task assignment and update and incident resolution to one
 * single-item store function each; reads to the view modules.
 *
 * What stays here is what belongs to the process rather than the database: the group commits that
 * gather concurrent calls, backpressure (`admit`) and database availability, the in-process worker,
 * the engine clock and the default actor of calls that name none.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type {
  ActionOptions,
  ActivateJobsRequest,
  ActivatedJob,
  Applied,
  UserTaskChange,
  UserTaskChangeOutcome,
  DeployFile,
  DeploymentResult,
  Engine,
  IncidentFilter,
  IncidentView,
  InstanceFilter,
  InstanceView,
  JobLease,
  JobResult,
  Page,
  ProcessDefinitionSummary,
  PublishedMessage,
  PublishMessage,
  StartInstanceOptions,
  UserTaskFilter,
  UserTaskSummary,
  UserTaskView,
} from './api.ts';
import { OperonError } from './errors.ts';
import { NodeRegistry } from './nodes/registry.ts';
import type { JobRecord, Logger, Variables } from './nodes/types.ts';
import { GraphCache } from './store/graph-cache.ts';
import type { JobRow } from './store/rows.ts';
import { findDefinition } from './store/find-definition.ts';
import { startProcessInstances, type ProcessStart } from './store/start-instances.ts';
import { completeJobs, type JobCompletion, type JobOutcome } from './store/complete-jobs.ts';
import { correlateMessages, publishMessage, type MessageCorrelation } from './store/correlate-messages.ts';
import { completeUserTasks, type UserTaskCompletion } from './store/complete-user-tasks.ts';
import { failJobs, type JobFailure } from './store/fail-jobs.ts';
import { GroupCommit } from './jobs/group-commit.ts';
import { listDefinitions } from './store/list-definitions.ts';
import {
  listUserTaskSummaries,
  listUserTaskViews,
  userTaskCandidates,
  type UserTaskCandidates,
} from './store/user-task-views.ts';
import { deployFiles } from './store/deploy-files.ts';
import { findUserTaskInstance } from './store/find-user-task.ts';
import { activateJobs } from './jobs/activate-jobs.ts';
import { changeUserTask } from './store/change-user-task.ts';
import { broadcastSignal } from './store/handovers.ts';
import { migrateOneInstance, type MigrationOutcome, type MigrationTarget } from './store/migrate-instance.ts';
import { cancelInstance } from './store/cancel-instance.ts';
import { modifyInstance, type InstanceModification } from './store/modify-instance.ts';
import type { ElementMapping } from './runtime/migration.ts';
import { dryRunBatchOperation, type DryRunItem } from './store/batch-dry-run.ts';
import type { BatchFilter, BatchKind, BatchRequest } from './store/batch-operations.ts';
import { DatabaseAvailability } from './store/database-availability.ts';
import type { Actor } from './store/audit-log.ts';
import { getInstanceView, listIncidentViews, listInstanceViews } from './store/instance-views.ts';
import { resolveIncident } from './store/resolve-incident.ts';
import { inTransaction } from './store/notify.ts';
import { claimJobs } from './jobs/claim-jobs.ts';
import { findJob } from './jobs/find-job.ts';
import { checkJobResult, replayedOrThrow } from './store/job-results.ts';
import { heartbeatJob } from './jobs/heartbeat-job.ts';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from './jobs/backoff.ts';
import { Notifications } from './jobs/notifications.ts';
import { startWorker, type Worker, type WorkerOptions } from './worker.ts';
import type { PoolStats } from './jobs/pools.ts';
import { resolveTimerPolicy, type TimerPolicy } from './timers/timer-policy.ts';
import { StartRateLimiter } from './timers/start-rate-limiter.ts';
import { systemClock, type Clock } from './clock.ts';

export interface CreateEngineOptions {
  db: Knex;
  /** Node types run by this process's workers; also validates service tasks at deploy time. */
  nodes?: NodeRegistry;
  logger?: Logger;
  /** Retry backoff for failed jobs (exponential). */
  backoff?: BackoffPolicy;
  /** Start the in-process worker (registered node types + timers). Off by default: `serve` only answers the API. */
  worker?: boolean | WorkerOptions;
  /**
   * Timer limits: the shortest cycle interval (`OPERON_TIMER_MIN_INTERVAL`, default 1 s) and the rate
   * of timer-started instances per process (`OPERON_TIMER_START_RATE`, default 50/s per engine process).
   */
  timerLimits?: Partial<TimerPolicy>;
  /**
   * How long a published `messageId` is remembered at least (longer when the message's time to
   * live is longer): a publish repeating it meanwhile is a duplicate. Default
   * `OPERON_MESSAGE_ID_RETENTION_MS` or 24 h.
   */
  messageIdRetentionMs?: number;
  /**
   * Backpressure: how many starts may wait for their batch (or requests for a pool connection)
   * before `admit('start')` refuses more with 503. Default `OPERON_START_QUEUE_LIMIT` or 1,000.
   */
  startQueueLimit?: number;
  /**
   * The time source for everything the engine schedules and compares against a schedule (timers,
   * job backoff and leases, message time to live): engine/clock.ts. Default: the system clock.
   * Engines sharing a database must share a clock.
   */
  clock?: Clock;
}

/** Starts (or connections) waiting before webhooks and POST /api/instances answer 503 OPERON_ERR_OVERLOADED. */
export const DEFAULT_START_QUEUE_LIMIT = 1_000;
/** A start still waiting after this long makes the engine check the database on a connection of its own. */
const SLOW_START_MS = 1_000;

/** How long a published message id is remembered when neither the option nor the environment says. */
export const DEFAULT_MESSAGE_ID_RETENTION_MS = 24 * 3600 * 1000;

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

/** Creates the engine; call `close()` to stop its worker and LISTEN connection (the knex pool stays the caller's). */
export function createEngine(options: CreateEngineOptions): PostgresEngine {
  const engine = new PostgresEngine(options);
  if (options.worker) engine.startWorker(options.worker === true ? {} : options.worker);
  return engine;
}

export class PostgresEngine implements Engine {
  readonly db: Knex;
  readonly nodes: NodeRegistry;
  readonly logger: Logger;
  readonly graphs: GraphCache;
  readonly notifications: Notifications;
  readonly backoff: BackoffPolicy;
  readonly timerPolicy: TimerPolicy;
  /** Delays timer start events of a process that start instances faster than the policy allows. */
  readonly startRate: StartRateLimiter;
  readonly messageIdRetentionMs: number;
  readonly startQueueLimit: number;
  /** Whether PostgreSQL is reachable, as far as this process knows: the API's fast 503 when it is not. */
  readonly availability: DatabaseAvailability;
  /** Engine time: every `due_at`, `run_at`, lease and expiry is written from it and compared with it. */
  readonly clock: Clock;
  #worker: Worker | undefined;
  /** What the store functions that step instances need: the graphs and engine time. */
  readonly #stepContext: { graphs: GraphCache; now: () => Date };

  constructor(options: CreateEngineOptions) {
    this.db = options.db;
    this.clock = options.clock ?? systemClock;
    this.nodes = options.nodes ?? new NodeRegistry();
    this.logger = options.logger ?? silentLogger;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.timerPolicy = resolveTimerPolicy(options.timerLimits);
    this.graphs = new GraphCache({ minCycleIntervalMs: this.timerPolicy.minCycleIntervalMs });
    this.#stepContext = { graphs: this.graphs, now: () => this.clock.now() };
    this.startRate = new StartRateLimiter(this.timerPolicy.startsPerSecond, this.timerPolicy.startBurst);
    this.notifications = new Notifications(this.db, this.logger);
    this.messageIdRetentionMs =
      options.messageIdRetentionMs ??
      (Number(process.env.OPERON_MESSAGE_ID_RETENTION_MS) || DEFAULT_MESSAGE_ID_RETENTION_MS);
    this.startQueueLimit =
      options.startQueueLimit ?? (Number(process.env.OPERON_START_QUEUE_LIMIT) || DEFAULT_START_QUEUE_LIMIT);
    this.availability = new DatabaseAvailability({
      connection: this.db.client.config.connection,
      onChange: (available, error) => {
        if (available) {
          this.logger.info({}, 'database reachable again');
          return;
        }
        // Starts still waiting for a batch never reached the database: tell their callers to retry.
        const withdrawn = this.#starts.withdraw(databaseUnavailable());
        this.logger.warn(
          { err: error, withdrawnStarts: withdrawn },
          'database unreachable: requests are answered 503 until it is back',
        );
      },
    });
  }

  /**
   * Backpressure, without a database round trip: throws 503 (`details.retryAfterSeconds`) when
   * PostgreSQL is known to be unreachable (OPERON_ERR_DATABASE_UNAVAILABLE) or, for `start`, when
   * more than `startQueueLimit` starts wait for their batch or requests for a pool connection
   * (OPERON_ERR_OVERLOADED). The API calls it before it takes anything on (an Idempotency-Key
   * included), so a refused request leaves nothing behind.
   */
  admit(work: 'start' | 'request'): void {
    if (!this.availability.available) throw databaseUnavailable();
    if (work !== 'start') return;
    const queued = this.#starts.waiting;
    const pool = (this.db.client as { pool?: { numPendingAcquires?(): number } }).pool;
    const waitingForConnections = pool?.numPendingAcquires?.() ?? 0;
    if (queued >= this.startQueueLimit || waitingForConnections >= this.startQueueLimit) {
      throw new OperonError(
        'OPERON_ERR_OVERLOADED',
        `Too much work waits for the database (${queued} starts, ${waitingForConnections} requests for a connection; the limit is ${this.startQueueLimit}); retry after 1 s`,
        {
          details: { retryAfterSeconds: 1, queuedStarts: queued, waitingForConnections, limit: this.startQueueLimit },
        },
      );
    }
  }

  /** A request failed: a lost database is noticed (and probed) at once. */
  reportFailure(error: unknown): void {
    this.availability.report(error);
  }

  /** A request takes unusually long: check the database on a connection of its own. */
  suspectDatabase(): void {
    this.availability.suspect();
  }

  /** Runs registered node types and fires timers in this process until `stopWorker()` or `close()`. */
  startWorker(options: WorkerOptions = {}): Worker {
    if (this.#worker) return this.#worker;
    this.#worker = startWorker(this, options);
    return this.#worker;
  }

  /**
   * Stops the worker: running nodes are aborted and their jobs released for another worker (it waits
   * up to `shutdownGraceMs` for them). `startWorker` starts a new one; the API works in between.
   */
  async stopWorker(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.stop();
  }

  get worker(): Worker | undefined {
    return this.#worker;
  }

  workerPools(): PoolStats[] {
    return this.#worker?.pools ?? [];
  }

  timerStartsDelayed(): number {
    let total = 0;
    for (const count of this.startRate.delayed().values()) total += count;
    return total;
  }

  // ---- deployment --------------------------------------------------------------------------

  async deploy(files: DeployFile[], options: ActionOptions = {}): Promise<DeploymentResult> {
    const context = {
      ...this.#stepContext,
      nodes: this.nodes,
      minCycleIntervalMs: this.timerPolicy.minCycleIntervalMs,
    };
    const result = await deployFiles(this.db, context, files, actorOrDefault(options));
    this.logger.info({ processes: result.processes, decisions: result.decisions }, 'deployed');
    return result;
  }

  listProcesses(page: Page = {}): Promise<ProcessDefinitionSummary[]> {
    return listDefinitions(this.db, page);
  }

  async getProcessXml(definitionId: string): Promise<string | undefined> {
    return (await findDefinition(this.db, definitionId))?.xml;
  }

  // ---- instances ---------------------------------------------------------------------------

  /**
   * Every start, whatever its version or start event, goes through the group commit to
   * `startProcessInstances` (engine/store/start-instances.ts): concurrent starts commit together.
   */
  async startInstance(
    bpmnProcessId: string,
    variables: Variables = {},
    options: StartInstanceOptions = {},
  ): Promise<{ instanceId: string }> {
    const instanceId = randomUUID();
    // A start that waits this long may be waiting on a database that is gone: find out.
    const slow = setTimeout(() => this.availability.suspect(), SLOW_START_MS);
    try {
      await this.#starts.submit({
        instanceId,
        bpmnProcessId,
        variables,
        version: options.version,
        startEventId: options.startEventId,
        businessKey: options.businessKey,
        startedBy: options.startedBy,
        latest: options.latest,
        idempotency: options.idempotency,
        actor: actorOrDefault(options),
        trace: options.trace,
      });
    } finally {
      clearTimeout(slow);
    }
    return { instanceId };
  }

  getInstance(instanceId: string): Promise<InstanceView | undefined> {
    return getInstanceView(this.db, instanceId);
  }

  listInstances(filter: InstanceFilter = {}): Promise<InstanceView[]> {
    return listInstanceViews(this.db, filter);
  }

  /** The instance stays `active` while canceling task listeners hold the termination (engine/store/cancel-instance.ts). */
  cancelInstance(instanceId: string, options: ActionOptions = {}): Promise<void> {
    return cancelInstance(this.db, this.#stepContext, instanceId, actorOrDefault(options));
  }

  async broadcastSignal(name: string, variables: Variables = {}): Promise<{ receivers: number }> {
    return inTransaction(this.db, async (tx) => ({ receivers: await broadcastSignal(tx, name, variables) }));
  }

  modifyInstance(instanceId: string, modification: InstanceModification, options: ActionOptions = {}): Promise<void> {
    return modifyInstance(this.db, this.#stepContext, instanceId, modification, actorOrDefault(options));
  }

  migrateInstance(
    instanceId: string,
    migration: { target: MigrationTarget; mappings: ElementMapping[]; dryRun?: boolean },
    options: ActionOptions = {},
  ): Promise<MigrationOutcome> {
    return migrateOneInstance(this.db, this.#stepContext, instanceId, migration, actorOrDefault(options));
  }

  dryRunBatchOperation(input: {
    kind: BatchKind;
    filter: BatchFilter;
    request?: BatchRequest;
  }): Promise<{ total: number; truncated: boolean; items: DryRunItem[] }> {
    return dryRunBatchOperation(this.db, this, input);
  }

  // ---- user tasks --------------------------------------------------------------------------

  listUserTasks(filter: UserTaskFilter = {}): Promise<UserTaskView[]> {
    return listUserTaskViews(this.db, filter);
  }

  listUserTaskSummaries(filter: UserTaskFilter = {}): Promise<UserTaskSummary[]> {
    return listUserTaskSummaries(this.db, filter);
  }

  /**
   * Every completion goes through the group commit to `completeUserTasks`
   * (engine/store/complete-user-tasks.ts): concurrent completions commit together.
   */
  async completeUserTask(
    taskId: string,
    variables: Variables = {},
    completedBy?: string,
    options: ActionOptions = {},
  ): Promise<Applied> {
    const instanceId = await findUserTaskInstance(this.db, taskId);
    const applied = await this.#taskCompletions.submit({
      taskId,
      variables,
      completedBy,
      actor: actorOrDefault(options),
      instanceId,
    });
    return applied ?? { replayed: false };
  }

  /** User task completions committing together, like job results; two of one instance never share a batch. */
  readonly #taskCompletions = new GroupCommit<UserTaskCompletion & { instanceId: string }, Applied>({
    key: (completion) => completion.instanceId,
    run: (batch) => completeUserTasks(this.db, this.#stepContext, batch),
  });

  assignUserTask(taskId: string, assignee: string | null, options: ActionOptions = {}): Promise<UserTaskChangeOutcome> {
    return changeUserTask(this.db, this.#stepContext, taskId, 'assigning', { assignee }, actorOrDefault(options));
  }

  updateUserTask(taskId: string, change: UserTaskChange, options: ActionOptions = {}): Promise<UserTaskChangeOutcome> {
    return changeUserTask(this.db, this.#stepContext, taskId, 'updating', change, actorOrDefault(options));
  }

  /**
   * Who may act on these user tasks: assignee and candidate groups from their rows, candidate
   * users from the BPMN (`zeebe:assignmentDefinition candidateUsers`).
   */
  userTaskCandidates(taskIds: string[]): Promise<Map<string, UserTaskCandidates>> {
    return userTaskCandidates(this.db, this.graphs, taskIds);
  }

  // ---- messages ----------------------------------------------------------------------------

  /** `publishMessage` (engine/store/correlate-messages.ts); correlations go through a group commit. */
  publishMessage(message: PublishMessage): Promise<PublishedMessage> {
    return publishMessage(
      this.db,
      {
        graphs: this.graphs,
        now: () => this.clock.now(),
        messageIdRetentionMs: this.messageIdRetentionMs,
        correlate: (correlation) => this.#correlations.submit(correlation),
      },
      message,
    );
  }

  /**
   * Message correlations committing together (`correlateMessages`); two for one instance never
   * share a batch.
   */
  readonly #correlations = new GroupCommit<MessageCorrelation, string | undefined>({
    key: (correlation) => correlation.subscription.process_instance_id ?? undefined,
    run: (batch) => correlateMessages(this.db, this.#stepContext, batch),
  });

  // ---- incidents ---------------------------------------------------------------------------

  listIncidents(filter: IncidentFilter = {}): Promise<IncidentView[]> {
    return listIncidentViews(this.db, filter);
  }

  /** `tx`: resolve inside that transaction (a batch operation item); default its own. */
  resolveIncident(incidentId: string, options: ActionOptions = {}, tx?: Knex.Transaction): Promise<void> {
    return resolveIncident(tx ?? this.db, this.#stepContext, incidentId, actorOrDefault(options));
  }

  // ---- jobs --------------------------------------------------------------------------------

  /** A long poll for external workers (engine/jobs/activate-jobs.ts). */
  activateJobs(request: ActivateJobsRequest, signal?: AbortSignal): Promise<ActivatedJob[]> {
    return activateJobs(this.db, { notifications: this.notifications, now: () => this.clock.now() }, request, signal);
  }

  /** Leases jobs of the given node names (`noop`, `bot` = every `bot:*` type) for the in-process worker. */
  claimNodeJobs(nodeNames: string[], worker: string, maxJobs: number, lockMs: number): Promise<JobRow[]> {
    return claimJobs(this.db, { nodeNames, worker, maxJobs, lockMs, now: this.clock.now() });
  }

  /**
   * `claimed`: the job row as this process claimed it, so the worker saves reading it again
   * (only its instance id is used; the fence still decides). `records`: the node's audit records
   * (`ctx.record`), written by their hooks in the completion's transaction.
   */
  completeJob(
    jobId: string,
    lease: JobLease,
    variables: Variables = {},
    claimed?: JobRow,
    records: readonly JobRecord[] = [],
  ): Promise<Applied> {
    return this.#finishJob(jobId, lease, { kind: 'completed', variables }, claimed, records);
  }

  async completeJobWithResult(
    jobId: string,
    lease: JobLease,
    variables: Variables,
    result: JobResult,
  ): Promise<Applied> {
    const job = await findJob(this.db, jobId);
    checkJobResult(job, variables, result);
    return this.#finishJob(jobId, lease, { kind: 'completed', variables, result }, job);
  }

  throwJobError(
    jobId: string,
    lease: JobLease,
    error: { errorCode: string; errorMessage?: string; variables?: Variables },
    records: readonly JobRecord[] = [],
  ): Promise<Applied> {
    return this.#finishJob(jobId, lease, { kind: 'bpmnError', ...error }, undefined, records);
  }

  /**
   * Every job result goes to `completeJobs` (engine/store/complete-jobs.ts) through the group
   * commit; a worker retrying a call whose answer it lost finds its own result applied, which is a
   * success (`replayed`, `replayedOrThrow` in engine/store/job-results.ts), not a conflict.
   */
  async #finishJob(
    jobId: string,
    lease: JobLease,
    outcome: JobOutcome,
    claimed?: JobRow,
    records: readonly JobRecord[] = [],
  ): Promise<Applied> {
    const job = claimed?.id === jobId ? claimed : await findJob(this.db, jobId);
    return this.#completions.submit({ job, lease, outcome, records }).then(
      (): Applied => ({ replayed: false }),
      (error: unknown) => replayedOrThrow(this.db, jobId, lease, outcome, error),
    );
  }

  /**
   * Starts committing together. A start's idempotency key is written in its batch's transaction;
   * two starts with the same key never share a batch (the later one then finds the key taken).
   */
  readonly #starts = new GroupCommit<ProcessStart>({
    key: (start) => (start.idempotency ? `${start.idempotency.scope}\u0000${start.idempotency.key}` : undefined),
    run: (batch) => startProcessInstances(this.db, this.#stepContext, batch),
    maxInFlight: 2, // a second batch only when a full one waits (group-commit.ts)
  });

  /**
   * Job results committing together (group commit, engine/jobs/group-commit.ts): `completeJobs`
   * applies one or a batch in one transaction, and on a failure retries them one by one itself.
   */
  readonly #completions = new GroupCommit<JobCompletion>({
    key: (completion) => completion.job.process_instance_id,
    run: (batch) =>
      completeJobs(
        this.db,
        {
          graphs: this.graphs,
          now: () => this.clock.now(),
          writeRecords: (tx, records, applied) => this.nodes.writeRecords(tx, records, applied),
          logger: this.logger,
        },
        batch,
      ),
    maxInFlight: 2, // a second batch only when a full one waits: 1,550 -> 2,075 instances/s at 128 jobs in flight
  });

  /**
   * `records`: the attempt's audit records, written in the transaction that records the failure
   * (`failJobs`, engine/store/fail-jobs.ts).
   */
  async failJob(
    jobId: string,
    lease: JobLease,
    failure: {
      errorMessage: string;
      retries?: number;
      retryBackoffMs?: number;
      code?: string;
      details?: Record<string, unknown>;
    },
    records: readonly JobRecord[] = [],
  ): Promise<void> {
    await this.#failures.submit({ job: await findJob(this.db, jobId), lease, ...failure, records });
  }

  /** Failures committing together, like completions. */
  readonly #failures = new GroupCommit<JobFailure>({
    key: (failure) => failure.job.process_instance_id,
    run: (batch) =>
      failJobs(
        this.db,
        {
          now: () => this.clock.now(),
          retryDelayMs: (attempt) => retryDelayMs(this.backoff, attempt),
          writeRecords: (tx, records, applied) => this.nodes.writeRecords(tx, records, applied),
        },
        batch,
      ),
    maxInFlight: 2,
  });

  async heartbeatJob(jobId: string, lease: JobLease, lockMs: number): Promise<{ deadline: string }> {
    const deadline = await heartbeatJob(this.db, jobId, lease, lockMs, this.clock.now());
    return { deadline: new Date(deadline).toISOString() };
  }

  async close(): Promise<void> {
    this.availability.close();
    await this.stopWorker();
    await this.notifications.close();
  }
}

/** The actor of a facade call that names none: code calling the engine directly. */
const EMBEDDED_ACTOR: Actor = { kind: 'system', id: 'embedded' };

function actorOrDefault(options: ActionOptions): Actor {
  return options.actor ?? EMBEDDED_ACTOR;
}

function databaseUnavailable(): OperonError {
  return new OperonError(
    'OPERON_ERR_DATABASE_UNAVAILABLE',
    'PostgreSQL cannot be reached; nothing was done, retry after 1 s',
    { details: { retryAfterSeconds: 1 }, retryable: true },
  );
}

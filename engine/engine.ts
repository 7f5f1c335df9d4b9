/**
 * The PostgreSQL engine: implements the `Engine` facade (engine/api.ts) over the store, the pure
 * runtime, the job table and the timers table.
 *
 * Every event an instance receives runs as ONE transaction: lock the instance row, load snapshot and
 * graph, call the pure runtime, persist the new snapshot and every effect, commit; wake-ups go out
 * as NOTIFY, delivered at commit. A failure inside a running instance becomes an incident row.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type {
  ActionOptions,
  ActivateJobsRequest,
  ActivatedJob,
  Applied,
  UserTaskChange,
  UserTaskChangeOutcome,
  DeployFile,
  DeployedDecision,
  DeployedProcess,
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
import { OperonError, isOperonError } from './errors.ts';
import { userTaskOf, type ProcessGraph } from './model/index.ts';
import { parseDefinitionsSafely, prescanBpmn } from './model/safe-parse.ts';
import { isDmnFile, parseDmn, type DmnModel } from './dmn/index.ts';
import { insertDecisionDefinition } from './store/decision-definitions.ts';
import { NodeRegistry } from './nodes/registry.ts';
import type { JobRecord, Logger, Variables } from './nodes/types.ts';
import type { RuntimeEvent } from './runtime/contract.ts';
import { GraphCache } from './store/graph-cache.ts';
import type {
  DefinitionRef,
  DefinitionRow,
  IncidentRow,
  InstanceRow,
  JobRow,
  SubscriptionRow,
  UserTaskRow,
} from './store/rows.ts';
import { json } from './store/rows.ts';
import { findDefinition, findDefinitionByProcessId, findLatestDefinitions } from './store/find-definition.ts';
import type { Settled } from './store/step-batch.ts';
import { startInstances } from './store/start-instances.ts';
import { completeJobs, type JobCompletion, type JobOutcome } from './store/complete-jobs.ts';
import { failJobs, type JobFailure } from './store/fail-jobs.ts';
import { GroupCommit } from './jobs/group-commit.ts';
import { listDefinitions } from './store/list-definitions.ts';
import { withPage } from './store/page.ts';
import { USER_TASK_SUMMARY_COLUMNS, toUserTaskSummary } from './store/user-task-views.ts';
import { insertDefinition } from './store/insert-definition.ts';
import { lockInstance } from './store/lock-instance.ts';
import { broadcastSignal } from './store/handovers.ts';
import { stepInstance } from './store/step-instance.ts';
import {
  migrateInstance,
  resolveMigrationTarget,
  type MigrationOutcome,
  type MigrationTarget,
} from './store/migrate-instance.ts';
import type { ElementMapping } from './runtime/migration.ts';
import { dryRunBatchOperation, type DryRunItem } from './store/batch-dry-run.ts';
import type { BatchFilter, BatchKind, BatchRequest } from './store/batch-operations.ts';
import { userTaskColumns } from './store/apply-effects.ts';
import { createInstance } from './store/create-instance.ts';
import type { IdempotencyRecord } from './store/idempotency-keys.ts';
import { DatabaseAvailability } from './store/database-availability.ts';
import { lockCorrelation } from './store/lock-correlation.ts';
import {
  claimMessageId,
  findRememberedMessage,
  type MessageIdClaim,
  type MessageIdOutcome,
} from './store/remember-message-id.ts';
import { appendHistory } from './store/append-history.ts';
import { appendAudit, type Actor } from './store/audit-log.ts';
import { recordReviewedLabel } from './store/record-reviewed-label.ts';
import { getInstanceView, listInstanceViews, toIncidentView } from './store/instance-views.ts';
import { scheduleStartEvents } from './store/schedule-start-events.ts';
import { CHANNELS, inTransaction, notify } from './store/notify.ts';
import { claimJobs } from './jobs/claim-jobs.ts';
import { findJob } from './jobs/find-job.ts';
import { bpmnErrorMessage, isAppliedOutcome } from './jobs/applied-result.ts';
import { heartbeatJob } from './jobs/heartbeat-job.ts';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from './jobs/backoff.ts';
import { Notifications } from './jobs/notifications.ts';
import { startWorker, type Worker, type WorkerOptions } from './worker.ts';
import type { PoolStats } from './jobs/pools.ts';
import { checkTimerCycles, resolveTimerPolicy, type TimerPolicy } from './timers/timer-policy.ts';
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

/** Task type prefixes Operon's own nodes provide: an element naming one that is not registered fails deployment. */
const RESERVED_PREFIXES = {
  bot: { code: 'OPERON_ERR_UNKNOWN_BOT', noun: 'bot' },
  decision: { code: 'OPERON_ERR_UNKNOWN_MODEL', noun: 'model' },
} as const;

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

  constructor(options: CreateEngineOptions) {
    this.db = options.db;
    this.clock = options.clock ?? systemClock;
    this.nodes = options.nodes ?? new NodeRegistry();
    this.logger = options.logger ?? silentLogger;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.timerPolicy = resolveTimerPolicy(options.timerLimits);
    this.graphs = new GraphCache({ minCycleIntervalMs: this.timerPolicy.minCycleIntervalMs });
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
    const parsed: { file: DeployFile; hash: string; graphs: ProcessGraph[] }[] = [];
    const dmn: { file: DeployFile; hash: string; model: DmnModel }[] = [];
    for (const file of files) {
      if (isDmnFile(file)) {
        prescanBpmn(file.xml, file.name);
        dmn.push({
          file,
          hash: createHash('sha256').update(file.xml).digest('hex'),
          model: await parseDmn(file.xml, file.name),
        });
        continue;
      }
      const graphs = await parseDefinitionsSafely(file.xml, file.name);
      parsed.push({ file, hash: createHash('sha256').update(file.xml).digest('hex'), graphs });
    }
    const warnings = await this.#validateTaskTypes(parsed.flatMap((entry) => entry.graphs));
    const now = this.clock.now();
    for (const graph of parsed.flatMap((entry) => entry.graphs))
      checkTimerCycles(graph, this.timerPolicy.minCycleIntervalMs, now);
    const deployed: { process: DeployedProcess; graph: ProcessGraph }[] = [];
    const decisions: DeployedDecision[] = [];
    await inTransaction(this.db, async (tx) => {
      for (const { file, hash, model } of dmn) {
        for (const decision of model.decisions) {
          const { row, created } = await insertDecisionDefinition(tx, {
            decisionId: decision.id,
            name: decision.name,
            versionTag: decision.versionTag,
            drgId: model.id,
            resourceName: file.name,
            xml: file.xml,
            xmlHash: hash,
          });
          decisions.push({
            decisionId: row.decision_id,
            ...(row.name ? { name: row.name } : {}),
            ...(row.version_tag ? { versionTag: row.version_tag } : {}),
            version: row.version,
            decisionDefinitionId: row.id,
            created,
          });
        }
      }
      for (const { file, hash, graphs } of parsed) {
        for (const graph of graphs) {
          const { row, created } = await insertDefinition(tx, {
            bpmnProcessId: graph.bpmnProcessId,
            name: graph.name,
            resourceName: file.name,
            xml: file.xml,
            xmlHash: hash,
            versionTag: graph.versionTag,
            retention: graph.retention,
          });
          if (created) await scheduleStartEvents(tx, row, graph, now, this.timerPolicy.minCycleIntervalMs);
          deployed.push({
            process: { bpmnProcessId: row.bpmn_process_id, version: row.version, definitionId: row.id, created },
            graph,
          });
        }
      }
      await appendAudit(tx, [
        {
          actor: actorOrDefault(options),
          action: 'deployment.create',
          target: { kind: 'deployment', id: files.map((file) => file.name).join(',') },
          change: {
            processes: deployed.map(({ process }) => ({
              bpmnProcessId: process.bpmnProcessId,
              version: process.version,
              definitionId: process.definitionId,
              created: process.created,
            })),
            decisions: decisions.map((d) => ({ decisionId: d.decisionId, version: d.version, created: d.created })),
          },
        },
      ]);
    });
    for (const { process, graph } of deployed) this.graphs.set(process.definitionId, graph);
    this.logger.info({ processes: deployed.map((d) => d.process), decisions }, 'deployed');
    return { processes: deployed.map((d) => d.process), decisions, warnings };
  }

  /** Validates bound node types (an unknown bot or model fails the deployment) and lists unhandled task types. */
  async #validateTaskTypes(graphs: ProcessGraph[]): Promise<string[]> {
    const unhandled = new Map<string, string[]>();
    for (const graph of graphs) {
      for (const task of graph.serviceTasks) {
        const node = this.nodes.resolve(task.taskType);
        const prefix = task.taskType.split(':')[0]!;
        if (!node && task.taskType.includes(':') && prefix in RESERVED_PREFIXES) {
          // bot: and decision: name something Operon itself must provide; with no such node nothing ever could run them.
          const { code, noun } = RESERVED_PREFIXES[prefix as keyof typeof RESERVED_PREFIXES];
          const name = task.taskType.slice(prefix.length + 1);
          throw new OperonError(
            code,
            `${graph.bpmnProcessId}: task '${task.elementId}' names ${noun} '${name}', but no ${noun}s are registered`,
            {
              details: {
                elementId: task.elementId,
                bpmnProcessId: graph.bpmnProcessId,
                taskType: task.taskType,
                [noun]: name,
              },
            },
          );
        }
        if (!node) {
          unhandled.set(task.taskType, [
            ...(unhandled.get(task.taskType) ?? []),
            `${graph.bpmnProcessId}/${task.elementId}`,
          ]);
          continue;
        }
        await node.validate?.(NodeRegistry.binding(task.elementId, task.taskType, task.headers));
      }
    }
    return [...unhandled].map(
      ([type, elements]) =>
        `Task type '${type}' (${elements.join(', ')}) has no registered node: its jobs wait for an external worker`,
    );
  }

  async listProcesses(page: Page = {}): Promise<ProcessDefinitionSummary[]> {
    const rows = await listDefinitions(this.db, page);
    return rows.map((row) => ({
      definitionId: row.id,
      bpmnProcessId: row.bpmn_process_id,
      version: row.version,
      ...(row.name ? { name: row.name } : {}),
      deployedAt: row.deployed_at.toISOString(),
    }));
  }

  async getProcessXml(definitionId: string): Promise<string | undefined> {
    return (await findDefinition(this.db, definitionId))?.xml;
  }

  // ---- instances ---------------------------------------------------------------------------

  /**
   * Every start, whatever its version or start event, goes through the group commit to
   * `startInstances` (engine/store/start-instances.ts): concurrent starts commit together.
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
        latest:
          options.version === undefined && options.latest?.bpmn_process_id === bpmnProcessId
            ? options.latest
            : undefined,
        idempotency: options.idempotency,
        actor: actorOrDefault(options),
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

  async cancelInstance(instanceId: string, options: ActionOptions = {}): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await stepInstance(tx, this.graphs, instanceId, { type: 'instance.cancel' }, this.clock.now());
      await appendAudit(tx, [
        {
          actor: actorOrDefault(options),
          action: 'instance.cancel',
          target: { kind: 'instance', id: instanceId },
          instanceId,
        },
      ]);
    });
  }

  async broadcastSignal(name: string, variables: Variables = {}): Promise<{ receivers: number }> {
    return inTransaction(this.db, async (tx) => ({ receivers: await broadcastSignal(tx, name, variables) }));
  }

  async modifyInstance(
    instanceId: string,
    modification: { activate?: string[]; terminate?: string[] },
    options: ActionOptions = {},
  ): Promise<void> {
    const event = {
      type: 'instance.modify' as const,
      activate: modification.activate ?? [],
      terminate: modification.terminate ?? [],
    };
    await inTransaction(this.db, async (tx) => {
      const { result } = await stepInstance(tx, this.graphs, instanceId, event, this.clock.now());
      // Throwing rolls the step back: a refused modification leaves no trace.
      if (result.ignored)
        throw new OperonError('OPERON_ERR_VALIDATION', `Cannot modify instance ${instanceId}: ${result.ignored}`, {
          details: { instanceId, ...event },
        });
      await appendAudit(tx, [
        {
          actor: actorOrDefault(options),
          action: 'instance.modify',
          target: { kind: 'instance', id: instanceId },
          instanceId,
          change: { activate: event.activate, terminate: event.terminate },
        },
      ]);
    });
  }

  async migrateInstance(
    instanceId: string,
    migration: { target: MigrationTarget; mappings: ElementMapping[]; dryRun?: boolean },
    options: ActionOptions = {},
  ): Promise<MigrationOutcome> {
    const dryRun = migration.dryRun === true;
    return inTransaction(this.db, async (tx) => {
      const target = await resolveMigrationTarget(tx, migration.target);
      const outcome = await migrateInstance(tx, this.graphs, instanceId, target, migration.mappings, {
        now: this.clock.now(),
        dryRun,
        actor: actorOrDefault(options),
      });
      // A dry run answers a refusal as its result; a real migration throws, so the transaction rolls back.
      if (!outcome.ok && (!dryRun || outcome.code !== 'OPERON_ERR_MIGRATION_REFUSED'))
        throw new OperonError(outcome.code, `Cannot migrate instance ${instanceId}: ${outcome.reason}`, {
          details: {
            instanceId,
            reason: outcome.reason,
            ...(outcome.elementId !== undefined ? { elementId: outcome.elementId } : {}),
            ...(outcome.elementInstanceKey !== undefined ? { elementInstanceKey: outcome.elementInstanceKey } : {}),
          },
        });
      return outcome;
    });
  }

  dryRunBatchOperation(input: {
    kind: BatchKind;
    filter: BatchFilter;
    request?: BatchRequest;
  }): Promise<{ total: number; truncated: boolean; items: DryRunItem[] }> {
    return dryRunBatchOperation(this.db, this, input);
  }

  // ---- user tasks --------------------------------------------------------------------------

  async listUserTasks(filter: UserTaskFilter = {}): Promise<UserTaskView[]> {
    const rows = (await this.#userTaskQuery(filter).select('*')) as UserTaskRow[];
    return rows.map((row) => ({ ...toUserTaskSummary(row), variables: row.variables }));
  }

  async listUserTaskSummaries(filter: UserTaskFilter = {}): Promise<UserTaskSummary[]> {
    const rows = (await this.#userTaskQuery(filter).select(USER_TASK_SUMMARY_COLUMNS)) as UserTaskRow[];
    return rows.map(toUserTaskSummary);
  }

  #userTaskQuery(filter: UserTaskFilter): Knex.QueryBuilder {
    const query = this.db<UserTaskRow>('user_tasks').orderBy([{ column: 'created_at' }, { column: 'id' }]);
    if (filter.id) query.where({ id: filter.id });
    if (filter.state) query.where({ state: filter.state });
    if (filter.instanceId) query.where({ process_instance_id: filter.instanceId });
    if (filter.claimableBy !== undefined) {
      const person = filter.claimableBy;
      query.where((q) => q.whereNull('assignee').orWhere({ assignee: person }));
    }
    if (filter.assignee) query.where({ assignee: filter.assignee });
    if (filter.candidateUser) query.whereRaw('candidate_users @> ARRAY[?]::text[]', [filter.candidateUser]);
    if (filter.candidateGroup) query.whereRaw('candidate_groups @> ARRAY[?]::text[]', [filter.candidateGroup]);
    if (filter.dueBefore) query.where('due_date', '<', filter.dueBefore);
    if (filter.dueAfter) query.where('due_date', '>', filter.dueAfter);
    if (filter.followUpBefore) query.where('follow_up_date', '<', filter.followUpBefore);
    if (filter.followUpAfter) query.where('follow_up_date', '>', filter.followUpAfter);
    if (filter.minPriority !== undefined) query.where('priority', '>=', filter.minPriority);
    if (filter.maxPriority !== undefined) query.where('priority', '<=', filter.maxPriority);
    return withPage(query, filter);
  }

  async completeUserTask(
    taskId: string,
    variables: Variables = {},
    completedBy?: string,
    options: ActionOptions = {},
  ): Promise<Applied> {
    const task = await this.db<UserTaskRow>('user_tasks').where({ id: taskId }).first();
    if (!task)
      throw new OperonError('OPERON_ERR_NOT_FOUND', `User task ${taskId} does not exist`, { details: { taskId } });
    return inTransaction(this.db, async (tx) => {
      const instance = await lockInstance(tx, task.process_instance_id);
      if (instance && task.state === 'open') await this.#checkFourEyes(tx, instance, task, completedBy);
      // With completing listeners (zeebe:taskListener) the task stays `completing` until their jobs completed.
      const graph = instance ? await this.graphs.get(tx, instance.definition_id) : undefined;
      const held = (userTaskOf(graph, task.element_id)?.completingListeners?.length ?? 0) > 0;
      const updated = await tx('user_tasks')
        .where({ id: taskId, state: 'open' })
        .update({
          state: held ? 'completing' : 'completed',
          result: json(variables),
          completed_by: completedBy ?? null,
          completed_at: held ? null : tx.fn.now(),
        });
      if (updated !== 1) {
        // The same person sending the same result again (a retry whose answer was lost) is told it is done.
        const same = await tx('user_tasks')
          .where({ id: taskId, completed_by: completedBy ?? null })
          .whereIn('state', ['completing', 'completed'])
          .andWhere(tx.raw('result = ?::jsonb', [json(variables)]))
          .first('id');
        if (same) return { replayed: true };
        throw new OperonError('OPERON_ERR_CONFLICT', `User task ${taskId} is not open`, { details: { taskId } });
      }
      const review = await recordReviewedLabel(tx, task, variables, completedBy);
      await stepInstance(
        tx,
        this.graphs,
        task.process_instance_id,
        { type: 'userTask.completed', elementInstanceKey: task.element_instance_key, variables },
        this.clock.now(),
        instance,
      );
      const actor = actorOrDefault(options);
      await appendAudit(tx, [
        {
          actor,
          action: 'task.complete',
          target: { kind: 'task', id: taskId },
          instanceId: task.process_instance_id,
          change: { elementId: task.element_id, completedBy: completedBy ?? null, variables },
        },
        ...(review
          ? [
              {
                actor,
                action: 'decision.review',
                target: { kind: 'decision', id: review.decisionId },
                instanceId: task.process_instance_id,
                change: { reviewedLabel: review.label, reviewedBy: review.reviewer, taskId },
              },
            ]
          : []),
      ]);
      return { replayed: false };
    });
  }

  assignUserTask(taskId: string, assignee: string | null, options: ActionOptions = {}): Promise<UserTaskChangeOutcome> {
    return this.#changeUserTask(taskId, 'assigning', { assignee }, options);
  }

  updateUserTask(taskId: string, change: UserTaskChange, options: ActionOptions = {}): Promise<UserTaskChangeOutcome> {
    return this.#changeUserTask(taskId, 'updating', change, options);
  }

  /**
   * An assignment or update of an open user task. Without listeners for it the row changes at
   * once; with them the task becomes `assigning` / `updating` and the runtime runs their jobs,
   * after which the change (with their corrections) takes effect, or is denied.
   */
  async #changeUserTask(
    taskId: string,
    event: 'assigning' | 'updating',
    change: UserTaskChange,
    options: ActionOptions,
  ): Promise<UserTaskChangeOutcome> {
    const found = await this.db<UserTaskRow>('user_tasks').where({ id: taskId }).first('process_instance_id');
    if (!found)
      throw new OperonError('OPERON_ERR_NOT_FOUND', `User task ${taskId} does not exist`, { details: { taskId } });
    return inTransaction(this.db, async (tx) => {
      const instance = await lockInstance(tx, found.process_instance_id);
      // Read again under the instance lock: a completion or another change may have come first.
      const task = (await tx<UserTaskRow>('user_tasks').where({ id: taskId }).first())!;
      if (!instance || task.state !== 'open')
        throw new OperonError('OPERON_ERR_CONFLICT', `User task ${taskId} is ${task.state}`, {
          details: { taskId, state: task.state },
        });
      const graph = await this.graphs.get(tx, instance.definition_id);
      const pending = (userTaskOf(graph, task.element_id)?.[`${event}Listeners`]?.length ?? 0) > 0;
      if (!pending) await tx('user_tasks').where({ id: taskId }).update(userTaskColumns(change));
      else {
        await tx('user_tasks').where({ id: taskId }).update({ state: event });
        const date = (value: Date | null) => (value ? value.toISOString() : null);
        const { result } = await stepInstance(
          tx,
          this.graphs,
          task.process_instance_id,
          {
            type: 'userTask.changeRequested',
            elementInstanceKey: task.element_instance_key,
            event,
            change,
            task: {
              id: task.id,
              assignee: task.assignee,
              ...(task.candidate_users ? { candidateUsers: task.candidate_users } : {}),
              ...(task.candidate_groups ? { candidateGroups: task.candidate_groups } : {}),
              dueDate: date(task.due_date),
              followUpDate: date(task.follow_up_date),
              priority: task.priority,
            },
          },
          this.clock.now(),
          instance,
        );
        if (result.ignored)
          throw new OperonError('OPERON_ERR_CONFLICT', `User task ${taskId} cannot change now: ${result.ignored}`, {
            details: { taskId },
          });
      }
      await appendAudit(tx, [
        {
          actor: actorOrDefault(options),
          action: event === 'assigning' ? 'task.assign' : 'task.update',
          target: { kind: 'task', id: taskId },
          instanceId: task.process_instance_id,
          change: { elementId: task.element_id, ...change, pending },
        },
      ]);
      return { pending };
    });
  }

  /**
   * A user task marked `operon:fourEyes` (docs/security.md) may not be completed by whoever started
   * its instance nor by whoever completed an earlier user task of it; nor anonymously. Checked
   * under the instance lock, so two completions cannot both slip past it.
   */
  async #checkFourEyes(tx: Knex.Transaction, instance: InstanceRow, task: UserTaskRow, completedBy?: string) {
    const graph = await this.graphs.get(tx, instance.definition_id);
    if (!userTaskOf(graph, task.element_id)?.fourEyes) return;
    const refuse = (rule: string, message: string) =>
      new OperonError('OPERON_ERR_FOUR_EYES', message, {
        details: { taskId: task.id, instanceId: instance.id, elementId: task.element_id, rule },
      });
    if (!completedBy) throw refuse('anonymous', `User task ${task.id} needs a second person: say who completes it`);
    if (instance.started_by && instance.started_by === completedBy)
      throw refuse('starter', `User task ${task.id} needs a second person: ${completedBy} started this instance`);
    const earlier = await tx('user_tasks')
      .where({ process_instance_id: instance.id, state: 'completed', completed_by: completedBy })
      .whereNot({ id: task.id })
      .first('id');
    if (earlier)
      throw refuse(
        'earlier-reviewer',
        `User task ${task.id} needs a second person: ${completedBy} completed an earlier task of this instance`,
      );
  }

  /**
   * Who may act on these user tasks: assignee and candidate groups from their rows, candidate
   * users from the BPMN (`zeebe:assignmentDefinition candidateUsers`).
   */
  async userTaskCandidates(
    taskIds: string[],
  ): Promise<
    Map<string, { assignee: string | null; candidateGroups: string[] | null; candidateUsers: string[] | null }>
  > {
    const rows = (await this.db('user_tasks as t')
      .join('process_instances as p', 'p.id', 't.process_instance_id')
      .whereIn('t.id', taskIds)
      .select('t.id', 't.element_id', 't.assignee', 't.candidate_groups', 't.candidate_users', 'p.definition_id')) as {
      id: string;
      element_id: string;
      assignee: string | null;
      candidate_groups: string[] | null;
      candidate_users: string[] | null;
      definition_id: string;
    }[];
    const result = new Map<
      string,
      { assignee: string | null; candidateGroups: string[] | null; candidateUsers: string[] | null }
    >();
    for (const row of rows) {
      const graph = await this.graphs.get(this.db, row.definition_id);
      result.set(row.id, {
        assignee: row.assignee,
        candidateGroups: row.candidate_groups,
        // The row's (FEEL evaluated, or changed by an update); rows from before 000013 have none.
        candidateUsers: row.candidate_users ?? userTaskOf(graph, row.element_id)?.candidateUsers ?? null,
      });
    }
    return result;
  }

  // ---- messages ----------------------------------------------------------------------------

  async publishMessage(message: PublishMessage): Promise<PublishedMessage> {
    const variables = message.variables ?? {};
    const ttl = message.timeToLiveMs ?? 0;
    const claim = message.messageId
      ? {
          name: message.name,
          messageId: message.messageId,
          rememberMs: Math.max(ttl, this.messageIdRetentionMs),
          now: this.clock.now(),
        }
      : undefined;
    // A sender's retry is answered from what the first publish did, before anything is looked up.
    if (claim) {
      const remembered = await findRememberedMessage(this.db, claim.name, claim.messageId, this.clock.now());
      if (remembered) return { ...remembered, duplicate: true };
    }
    try {
      return await this.#publish(message, variables, ttl, claim);
    } catch (error) {
      if (!(error instanceof DuplicateMessage) || !claim) throw error;
      // Another publish of the same id committed first: its work stands, ours was rolled back.
      return {
        ...((await findRememberedMessage(this.db, claim.name, claim.messageId, this.clock.now())) ?? {
          correlated: false,
        }),
        duplicate: true,
      };
    }
  }

  async #publish(
    message: PublishMessage,
    variables: Variables,
    ttl: number,
    claim: MessageIdClaim | undefined,
  ): Promise<PublishedMessage> {
    for (let tries = 0; tries < 5; tries++) {
      const subscription = await this.db<SubscriptionRow>('message_subscriptions')
        .where({ state: 'open', message_name: message.name, correlation_key: message.correlationKey })
        .whereNotNull('process_instance_id')
        .orderBy('created_at')
        .first();
      if (!subscription) break;
      const instanceId = await this.#correlate(subscription, message.name, variables, undefined, claim);
      if (instanceId) return { correlated: true, instanceId };
    }
    const startDefinition = await this.#messageStartDefinition(message.name);
    if (startDefinition) {
      const { definition, elementId } = startDefinition;
      const instanceId = await inTransaction(this.db, async (tx) => {
        const id = await createInstance(tx, this.graphs, definition, {
          variables,
          startEventId: elementId,
          businessKey: message.correlationKey || undefined,
          now: this.clock.now(),
        });
        await claimOrRollBack(tx, claim, { processInstanceId: id });
        return id;
      });
      return { correlated: true, instanceId };
    }
    if (ttl <= 0) {
      // Dropped: remembered all the same, so that a retry does not reach a subscription opened since.
      if (claim) await inTransaction(this.db, (tx) => claimOrRollBack(tx, claim, {}));
      return { correlated: false };
    }
    const id = randomUUID();
    const inserted = await inTransaction(this.db, async (tx) => {
      await lockCorrelation(tx, message.name, message.correlationKey);
      await claimOrRollBack(tx, claim, { bufferedMessage: id });
      return tx('messages')
        .insert({
          id,
          name: message.name,
          correlation_key: message.correlationKey,
          message_id: message.messageId ?? null,
          variables: json(variables),
          state: 'buffered',
          expires_at: new Date(this.clock.now().getTime() + ttl),
        })
        .onConflict(this.db.raw(`(name, message_id) WHERE state = 'buffered' AND message_id IS NOT NULL`))
        .ignore()
        .returning('id');
    });
    if (inserted.length === 0) return { correlated: false };
    // A subscription may have opened while we buffered (its step looked before our insert committed).
    const late = await this.db<SubscriptionRow>('message_subscriptions')
      .where({ state: 'open', message_name: message.name, correlation_key: message.correlationKey })
      .whereNotNull('process_instance_id')
      .orderBy('created_at')
      .first();
    if (late) {
      const instanceId = await this.#correlate(late, message.name, variables, id);
      if (instanceId) return { correlated: true, instanceId };
    }
    return { correlated: false };
  }

  /**
   * Correlates to one subscription if it is still open; returns the instance id, or undefined when it closed meanwhile.
   * `claim`: the message's id, remembered in the same transaction (a duplicate rolls the correlation back).
   */
  async #correlate(
    subscription: SubscriptionRow,
    name: string,
    variables: Variables,
    bufferedId?: string,
    claim?: MessageIdClaim,
  ): Promise<string | undefined> {
    return inTransaction(this.db, async (tx) => {
      const instance = await lockInstance(tx, subscription.process_instance_id!);
      if (instance?.state !== 'active') return undefined;
      // A non-interrupting boundary event or event subprocess start stays subscribed while its scope
      // is active, as in Zeebe: every message correlates, not only the first. The step closes the
      // subscription when the host ends (closeWaits); the instance lock orders concurrent messages.
      const rearmed = this.#staysSubscribed(
        await this.graphs.get(tx, subscription.definition_id),
        subscription.element_id,
      );
      const open = rearmed
        ? await tx('message_subscriptions').where({ id: subscription.id, state: 'open' }).first('id')
        : (await tx('message_subscriptions')
            .where({ id: subscription.id, state: 'open' })
            .update({ state: 'closed', closed_at: tx.fn.now() })) === 1;
      if (!open) return undefined;
      if (bufferedId) {
        const taken = await tx('messages')
          .where({ id: bufferedId, state: 'buffered' })
          .update({ state: 'correlated', process_instance_id: instance.id, correlated_at: tx.fn.now() });
        if (taken !== 1) return undefined;
      }
      await claimOrRollBack(tx, claim, { processInstanceId: instance.id });
      const event: RuntimeEvent = {
        type: 'message.correlated',
        elementInstanceKey: subscription.element_instance_key!,
        messageName: name,
        variables,
      };
      await stepInstance(tx, this.graphs, instance.id, event, this.clock.now(), instance);
      return instance.id;
    });
  }

  /** Is `elementId` a non-interrupting message boundary event or event subprocess start (subscribed until its scope ends)? */
  #staysSubscribed(graph: ProcessGraph, elementId: string): boolean {
    const element = graph.elements[elementId];
    if (element?.type === 'boundaryEvent') return element.eventKind === 'message' && !element.cancelActivity;
    if (element?.type !== 'startEvent' || element.eventKind !== 'message') return false;
    return element.parentId !== undefined && element.interrupting === false;
  }

  async #messageStartDefinition(name: string): Promise<{ definition: DefinitionRow; elementId: string } | undefined> {
    const subscription = await this.db<SubscriptionRow>('message_subscriptions')
      .where({ state: 'open', message_name: name })
      .whereNull('process_instance_id')
      .orderBy('created_at', 'desc')
      .first();
    if (!subscription) return undefined;
    const definition = await findDefinition(this.db, subscription.definition_id);
    return definition ? { definition, elementId: subscription.element_id } : undefined;
  }

  // ---- incidents ---------------------------------------------------------------------------

  async listIncidents(filter: IncidentFilter = {}): Promise<IncidentView[]> {
    const query = this.db<IncidentRow>('incidents').orderBy([{ column: 'created_at' }, { column: 'id' }]);
    if (filter.state) query.where({ state: filter.state });
    if (filter.instanceId) query.where({ process_instance_id: filter.instanceId });
    return ((await withPage(query, filter)) as IncidentRow[]).map(toIncidentView);
  }

  /** `tx`: resolve inside that transaction (a batch operation item); default its own. */
  async resolveIncident(incidentId: string, options: ActionOptions = {}, tx?: Knex.Transaction): Promise<void> {
    const incident = await (tx ?? this.db)<IncidentRow>('incidents').where({ id: incidentId }).first();
    if (!incident)
      throw new OperonError('OPERON_ERR_NOT_FOUND', `Incident ${incidentId} does not exist`, {
        details: { incidentId },
      });
    await inTransaction(tx ?? this.db, async (tx) => {
      const instance = await lockInstance(tx, incident.process_instance_id);
      const open = await tx<IncidentRow>('incidents').where({ id: incidentId, state: 'open' }).forUpdate().first();
      if (!open)
        throw new OperonError('OPERON_ERR_CONFLICT', `Incident ${incidentId} is already resolved`, {
          details: { incidentId },
        });
      await tx('incidents').where({ id: incidentId }).update({ state: 'resolved', resolved_at: tx.fn.now() });
      await appendHistory(tx, [
        {
          process_instance_id: open.process_instance_id,
          element_instance_key: open.element_instance_key,
          element_id: open.element_id,
          event_type: 'incident.resolved',
          payload: { incidentId },
        },
      ]);
      await this.#resumeAfterIncident(tx, open, instance);
      await appendAudit(tx, [
        {
          actor: actorOrDefault(options),
          action: 'incident.resolve',
          target: { kind: 'incident', id: incidentId },
          instanceId: open.process_instance_id,
          change: { elementId: open.element_id, code: open.code, jobId: open.job_id ?? null },
        },
      ]);
    });
  }

  /** After an incident is resolved: its job is claimable again (retry), or the engine's retry event is applied. */
  async #resumeAfterIncident(
    tx: Knex.Transaction,
    open: IncidentRow,
    instance: Awaited<ReturnType<typeof lockInstance>>,
  ): Promise<void> {
    if (instance?.state !== 'active') return;
    if (open.job_id) {
      // The job gets its retries back and is claimable at once.
      const jobs = await tx<JobRow>('jobs')
        .where({ id: open.job_id, state: 'failed' })
        .update({
          state: 'ready',
          retries: tx.raw('greatest(max_retries, 1)'),
          owner: null,
          lease_expires_at: null,
          run_at: this.clock.now(),
          updated_at: tx.fn.now(),
        })
        .returning('*');
      if (jobs[0]) await notify(tx, CHANNELS.jobs, jobs[0].type);
      return;
    }
    const event = (open.retry_event as RuntimeEvent | null) ?? {
      type: 'incident.resolved',
      elementInstanceKey: open.element_instance_key,
    };
    await stepInstance(tx, this.graphs, instance.id, event, this.clock.now(), instance);
  }

  // ---- jobs --------------------------------------------------------------------------------

  async activateJobs(request: ActivateJobsRequest, signal?: AbortSignal): Promise<ActivatedJob[]> {
    const deadline = Date.now() + (request.requestTimeoutMs ?? 0);
    for (;;) {
      const jobs = await claimJobs(this.db, {
        types: [request.type],
        worker: request.worker,
        maxJobs: request.maxJobs,
        lockMs: request.lockMs,
        now: this.clock.now(),
      });
      if (jobs.length > 0 || Date.now() >= deadline || signal?.aborted) return jobs.map(toActivatedJob);
      await this.notifications.wait(
        Math.min(1_000, deadline - Date.now()),
        (channel, payload) => channel === CHANNELS.jobs && payload === request.type,
        signal,
        [CHANNELS.jobs],
      );
    }
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
    const event = job.listener_event_type;
    if (result.corrections && event !== 'assigning' && event !== 'updating')
      throw new OperonError(
        'OPERON_ERR_VALIDATION',
        `Job ${jobId} is not an assigning or updating task listener's job: its result cannot carry corrections`,
        { details: { field: 'body.result.corrections', jobId, listenerEventType: event } },
      );
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
   * success (`replayed`), not a conflict.
   */
  async #finishJob(
    jobId: string,
    lease: JobLease,
    outcome: JobOutcome,
    claimed?: JobRow,
    records: readonly JobRecord[] = [],
  ): Promise<Applied> {
    const job = claimed?.id === jobId ? claimed : await findJob(this.db, jobId);
    try {
      await this.#completions.submit({ job, lease, outcome, records });
      return { replayed: false };
    } catch (error) {
      if (
        isOperonError(error) &&
        error.code === 'OPERON_ERR_JOB_ALREADY_COMPLETED' &&
        (await isAppliedOutcome(
          this.db,
          jobId,
          lease,
          outcome.kind === 'completed'
            ? { kind: 'completed', variables: outcome.variables }
            : { kind: 'bpmnError', errorMessage: bpmnErrorMessage(outcome.errorCode, outcome.errorMessage) },
        ))
      )
        return { replayed: true };
      throw error;
    }
  }

  /**
   * Starts committing together. A start's idempotency key is written in its batch's transaction;
   * two starts with the same key never share a batch (the later one then finds the key taken).
   */
  readonly #starts = new GroupCommit<{
    instanceId: string;
    bpmnProcessId: string;
    variables: Variables;
    /** A version other than the latest. */
    version?: number;
    startEventId?: string;
    businessKey?: string;
    startedBy?: string;
    latest?: DefinitionRef;
    idempotency?: IdempotencyRecord;
    actor: Actor;
  }>({
    key: (start) => (start.idempotency ? `${start.idempotency.scope}\u0000${start.idempotency.key}` : undefined),
    run: async (batch) => {
      // Definitions never change once deployed: reading the latest outside the writing statement
      // at worst starts the version that was latest a moment ago. Starts whose caller read it
      // already (webhooks) save the batch that round trip.
      const unknown = [
        ...new Set(
          batch.filter((start) => !start.latest && start.version === undefined).map((start) => start.bpmnProcessId),
        ),
      ];
      const latest =
        unknown.length > 0 ? await findLatestDefinitions(this.db, unknown) : new Map<string, DefinitionRef>();
      const definitions = await Promise.all(
        batch.map(async (start) =>
          start.version !== undefined
            ? await findDefinitionByProcessId(this.db, start.bpmnProcessId, start.version)
            : (start.latest ?? latest.get(start.bpmnProcessId)),
        ),
      );
      const found = batch.flatMap((start, index) => {
        const definition = definitions[index];
        return definition
          ? [
              {
                ...start,
                definition: {
                  id: definition.id,
                  bpmn_process_id: definition.bpmn_process_id,
                  version: definition.version,
                },
              },
            ]
          : [];
      });
      const settled = await startInstances(this.db, this.graphs, found, this.clock.now());
      const byId = new Map(found.map((start, index) => [start.instanceId, settled[index]!]));
      return batch.map(
        (start): Settled =>
          byId.get(start.instanceId) ?? {
            ok: false,
            error: new OperonError(
              'OPERON_ERR_NOT_FOUND',
              `No deployed process '${start.bpmnProcessId}'${start.version ? ` version ${start.version}` : ''}`,
              { details: { bpmnProcessId: start.bpmnProcessId, version: start.version } },
            ),
          },
      );
    },
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

/** Thrown inside a publish's transaction when its message id was remembered meanwhile: rolls the transaction back. */
class DuplicateMessage extends Error {}

async function claimOrRollBack(
  tx: Knex.Transaction,
  claim: MessageIdClaim | undefined,
  outcome: MessageIdOutcome,
): Promise<void> {
  if (claim && !(await claimMessageId(tx, claim, outcome)))
    throw new DuplicateMessage(`message id ${claim.messageId} was published before`);
}

function toActivatedJob(job: JobRow): ActivatedJob {
  return {
    id: job.id,
    type: job.type,
    instanceId: job.process_instance_id,
    elementId: job.element_id,
    elementInstanceKey: job.element_instance_key,
    bpmnProcessId: job.bpmn_process_id,
    attempt: job.attempt,
    retries: job.retries,
    worker: job.owner!,
    deadline: new Date(job.lease_expires_at!).toISOString(),
    headers: job.headers,
    variables: job.variables,
    ...(job.listener_event_type ? { listenerEventType: job.listener_event_type } : {}),
    ...(job.properties ? { properties: job.properties } : {}),
  };
}

export { toActivatedJob };

/**
 * The in-process worker: runs the registered node types for the job types they handle and fires
 * due timers. Jobs of other types stay in the table for external workers (HTTP job API).
 *
 * Each job runs under a lease that a heartbeat extends; the node's AbortSignal fires when the lease
 * is lost, the job is cancelled (boundary timer, instance cancelled) or the worker shuts down.
 * Several workers (in one or many processes) share a database; PostgreSQL coordinates them.
 * The records a node attaches (`ctx.record`) travel with the job's result into its transaction.
 */
import type { Clock } from './clock.ts';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { type BpmnError, isBpmnError, isOperonError } from './errors.ts';
import type { Knex } from 'knex';
import type { ActionOptions, Applied, JobLease } from './api.ts';
import type { JobRecord, Logger, NodeContext, SecretStore, Variables } from './nodes/types.ts';
import { FailureLog } from './telemetry/failure-log.ts';
import type { NodeRegistry } from './nodes/registry.ts';
import type { Notifications } from './jobs/notifications.ts';
import type { GraphCache } from './store/graph-cache.ts';
import type { StartRateLimiter } from './timers/start-rate-limiter.ts';
import type { JobRow } from './store/rows.ts';
import { CHANNELS } from './store/notify.ts';
import { fireDueTimers, nextTimerDue } from './timers/fire-due-timers.ts';
import { heartbeatJob } from './jobs/heartbeat-job.ts';
import { releaseJob } from './jobs/release-job.ts';
import { ensureHistoryPartitions } from './store/history-partitions.ts';
import { dropHistoryPartitions } from './store/drop-history-partitions.ts';
import { forgetMessageIds } from './store/remember-message-id.ts';
import { inTransaction } from './store/notify.ts';

import { retentionDefault, sweepExpiredInstances } from './store/retention.ts';
import { runPendingErasures } from './store/erasures.ts';
import { defaultArtifactsDir } from './store/instance-data.ts';
import { processBatchOperations } from './store/batch-process.ts';
import { environmentCapacity, JobPool, planPools, type PoolStats } from './jobs/pools.ts';
import { ATTR, endSpan, parseTraceContext, type Span, SpanKind, startSpan } from './telemetry/trace.ts';
import { nodeTraceOf } from './telemetry/node-trace.ts';
import { type JobRunOutcome, workMetrics } from './telemetry/metrics.ts';

/** What the worker needs of the engine (PostgresEngine provides it). */
export interface WorkerHost {
  readonly db: Knex;
  readonly logger: Logger;
  readonly nodes: NodeRegistry;
  readonly notifications: Notifications;
  readonly graphs: GraphCache;
  readonly timerPolicy: { minCycleIntervalMs: number };
  readonly startRate: StartRateLimiter;
  /** Engine time: due times, leases and the timer loop's waits (engine/clock.ts). */
  readonly clock: Clock;
  claimNodeJobs(nodeNames: string[], worker: string, maxJobs: number, lockMs: number): Promise<JobRow[]>;
  completeJob(
    jobId: string,
    lease: JobLease,
    variables: Variables,
    claimed: JobRow,
    records: readonly JobRecord[],
  ): Promise<Applied>;
  throwJobError(
    jobId: string,
    lease: JobLease,
    error: { errorCode: string; errorMessage?: string; variables?: Variables },
    records: readonly JobRecord[],
  ): Promise<Applied>;
  failJob(
    jobId: string,
    lease: JobLease,
    failure: { errorMessage: string; retries?: number; code?: string; details?: Record<string, unknown> },
    records: readonly JobRecord[],
  ): Promise<void>;
  /** Batch operation items (engine/store/batch-process.ts) retry through it. */
  resolveIncident(incidentId: string, options: ActionOptions, tx?: Knex.Transaction): Promise<void>;
}

export interface WorkerOptions {
  /** Lease owner name; unique per worker. Default `<host>:<pid>:<random>`. */
  workerId?: string;
  /**
   * Slots by pool (`bot`, `decision`, `http`, `builtin`) or node type name; each pool claims only
   * its own types (engine/jobs/pools.ts). Merged over `OPERON_CAPACITY`. 0 = this worker does not run them.
   */
  capacity?: Record<string, number>;
  /** Slots of every pool that `capacity` does not name. Default: each pool's own, sized to the machine. */
  concurrency?: number;
  /** Lease length; the heartbeat renews it every third of it. Default 30 s. */
  lockMs?: number;
  /** Polling fallback when no NOTIFY arrives. Default 1 s. */
  pollIntervalMs?: number;
  /** Fire due timers in this worker. Default true. */
  timers?: boolean;
  /** Run node types. Default true (false = timers only). */
  jobs?: boolean;
  secrets?: SecretStore;
  /** Longest a node may run before its signal aborts and the job fails (retried); a `timeoutMs` task header overrides it. Default: no limit. */
  jobTimeoutMs?: number;
  /** How long `stop()` waits for running nodes after aborting them. Default 5 s. */
  shutdownGraceMs?: number;
  /**
   * History retention in whole months (this month counts as one): the timer loop drops older
   * monthly `history_YYYY_MM` partitions hourly. Default: keep everything (`OPERON_HISTORY_RETENTION_MONTHS`).
   */
  historyRetentionMonths?: number;
  /**
   * Retention and erasure (docs/security.md) run in a maintenance loop beside the timer loop (off
   * with `timers: false`): expired instances are deleted every `retentionSweepMs` (default
   * OPERON_RETENTION_SWEEP_MS or 60 s), erasure requests are looked for every `erasurePollMs`
   * (default 5 s). `retentionDefault`: the time to live of processes that set none (default
   * OPERON_RETENTION_DEFAULT; unset keeps them). `artifactsDir`: where bot artifacts are deleted.
   */
  retentionSweepMs?: number;
  erasurePollMs?: number;
  retentionDefault?: string;
  artifactsDir?: string;
}

export interface Worker {
  readonly workerId: string;
  /** Jobs this worker is running right now. */
  readonly running: number;
  /** Capacity, busy slots and waits per pool. */
  readonly pools: PoolStats[];
  /** Stops claiming, aborts running nodes, gives their jobs back, stops the timer loop. */
  stop(): Promise<void>;
}

/** Secrets from `OPERON_SECRET_<NAME>` environment variables. */
export function environmentSecrets(env: NodeJS.ProcessEnv = process.env): SecretStore {
  const prefix = 'OPERON_SECRET_';
  const entries = Object.entries(env).filter(([key, value]) => key.startsWith(prefix) && value !== undefined) as [
    string,
    string,
  ][];
  const secrets = new Map(entries.map(([key, value]) => [key.slice(prefix.length), value]));
  return { get: (name) => secrets.get(name), values: () => [...secrets.values()] };
}

/** How long after `timeoutMs` the worker aborts a node that enforces its own timeout. */
const BACKSTOP_GRACE_MS = 2_000;
/** How often the timer loop forgets message ids whose time is up (a lookup ignores them before that). */
const MESSAGE_ID_SWEEP_MS = 60_000;

class JobAbort extends Error {
  constructor(readonly reason: 'lease-lost' | 'cancelled' | 'shutdown' | 'timeout') {
    super(`job aborted: ${reason}`);
    this.name = 'AbortError';
  }
}

export function startWorker(engine: WorkerHost, options: WorkerOptions = {}): Worker {
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const lockMs = options.lockMs ?? 30_000;
  const pollMs = options.pollIntervalMs ?? 1_000;
  const secrets = options.secrets ?? environmentSecrets();
  const retentionMonths = options.historyRetentionMonths ?? Number(process.env.OPERON_HISTORY_RETENTION_MONTHS ?? 0);
  const logger: Logger = engine.logger.child({ worker: workerId });
  const running = new Map<string, { controller: AbortController; job: JobRow; done: Promise<void> }>();
  const stopping = new AbortController();
  const plan = planPools(
    engine.nodes.names().map((name) => ({ name, pool: engine.nodes.resolve(name)?.pool })),
    { capacity: { ...environmentCapacity(), ...options.capacity }, concurrency: options.concurrency },
  );
  if (plan.unknown.length > 0)
    logger.warn({ unknown: plan.unknown }, 'capacity names pools or node types this worker does not run');
  const pools = plan.pools.map((pool) => new JobPool(pool));
  const poolOfNode = new Map(pools.flatMap((pool) => pool.nodeNames.map((name) => [name, pool] as const)));
  const poolOfType = (type: string) => {
    const node = engine.nodes.resolve(type);
    return node ? poolOfNode.get(node.name) : undefined;
  };

  // A jump of the engine clock (a test moving a manual clock) ends both loops' waits: what it made
  // due (timers, job backoff, expired leases) is looked for at once.
  let clockJumped = false;
  let endTimerWait: (() => void) | undefined;
  const offClock = engine.clock.onJump?.(() => {
    clockJumped = true;
    endTimerWait?.();
    for (const pool of pools) pool.wake();
  });

  const offNotifications = engine.notifications.on(
    (channel, payload) => {
      if (channel === CHANNELS.jobCancelled) running.get(payload)?.controller.abort(new JobAbort('cancelled'));
    },
    [CHANNELS.jobCancelled],
  );

  /**
   * Runs one job in its span (a child of the step that created the job, whichever process that
   * was) and reports how long it took and how it ended.
   */
  async function runJob(job: JobRow, controller: AbortController): Promise<void> {
    const startedAt = performance.now();
    const span = startSpan(`job ${job.type}`, {
      parent: parseTraceContext(job.trace_parent, job.trace_state),
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR.processId]: job.bpmn_process_id,
        [ATTR.instanceId]: job.process_instance_id,
        [ATTR.elementId]: job.element_id,
        [ATTR.jobId]: job.id,
        [ATTR.jobType]: job.type,
        [ATTR.jobAttempt]: job.attempt,
        [ATTR.worker]: workerId,
      },
    });
    let outcome: JobRunOutcome = 'aborted';
    let failure: unknown;
    try {
      ({ outcome, failure } = await runNode(job, controller, span));
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      span.setAttribute(ATTR.jobOutcome, outcome);
      endSpan(span, failure);
      workMetrics.jobFinished(job.type, outcome, (performance.now() - startedAt) / 1000);
    }
  }

  async function runNode(
    job: JobRow,
    controller: AbortController,
    span: Span,
  ): Promise<{ outcome: JobRunOutcome; failure?: unknown }> {
    const lease = { worker: workerId, attempt: job.attempt };
    const jobLogger = logger.child({
      jobId: job.id,
      instanceId: job.process_instance_id,
      elementId: job.element_id,
      attempt: job.attempt,
    });
    const heartbeat = setInterval(
      () => {
        heartbeatJob(engine.db, job.id, lease, lockMs, engine.clock.now()).catch((error) => {
          if (
            isOperonError(error) &&
            (error.code === 'OPERON_ERR_LEASE_LOST' || error.code === 'OPERON_ERR_JOB_COMPLETED_BY_OTHER')
          )
            controller.abort(new JobAbort('lease-lost'));
          else jobLogger.warn({ err: error }, 'heartbeat failed');
        });
      },
      Math.max(50, Math.floor(lockMs / 3)),
    );
    const timeoutMs = Number(job.headers.timeoutMs ?? options.jobTimeoutMs ?? 0);
    const node = engine.nodes.resolve(job.type)!;
    const backstopMs = node.enforcesTimeout ? BACKSTOP_GRACE_MS : 0;
    const deadline =
      timeoutMs > 0 ? setTimeout(() => controller.abort(new JobAbort('timeout')), timeoutMs + backstopMs) : undefined;
    const records: JobRecord[] = [];
    const ctx: NodeContext = {
      signal: controller.signal,
      logger: jobLogger,
      instanceId: job.process_instance_id,
      elementId: job.element_id,
      elementInstanceId: job.element_instance_key,
      jobId: job.id,
      attempt: job.attempt,
      taskType: job.type,
      headers: job.headers,
      properties: job.properties ?? {},
      ...(job.listener_event_type ? { listenerEventType: job.listener_event_type } : {}),
      secrets,
      trace: nodeTraceOf(span),
      record(kind, payload) {
        if (!engine.nodes.handlesRecord(kind)) throw new Error(`No record hook is registered for kind '${kind}'`);
        records.push({ kind, payload });
      },
    };
    try {
      let output: Record<string, unknown> | void;
      try {
        output = await node.run(structuredClone(job.variables), ctx);
      } catch (error) {
        if (controller.signal.aborted) {
          await afterAbort(job, controller, lease, jobLogger, records);
          return { outcome: 'aborted', failure: error };
        }
        if (isBpmnError(error)) {
          const bpmnError = error as BpmnError;
          await engine.throwJobError(
            job.id,
            lease,
            {
              errorCode: bpmnError.errorCode,
              errorMessage: bpmnError.message,
              variables: bpmnError.variables,
            },
            records,
          );
          return { outcome: 'error' };
        }
        if (isOperonError(error) && !error.retryable) {
          jobLogger.warn({ err: error }, 'node rejected the job; raising an incident');
          await engine.failJob(
            job.id,
            lease,
            { errorMessage: error.message, retries: 0, code: error.code, details: error.details },
            records,
          );
        } else {
          jobLogger.warn({ err: error }, 'node failed; will retry if retries remain');
          await engine.failJob(
            job.id,
            lease,
            { errorMessage: error instanceof Error ? error.message : String(error) },
            records,
          );
        }
        return { outcome: 'failed', failure: error };
      }
      if (controller.signal.aborted) {
        await afterAbort(job, controller, lease, jobLogger, records);
        return { outcome: 'aborted', failure: controller.signal.reason };
      }
      await engine.completeJob(job.id, lease, output ?? {}, job, records);
      return { outcome: 'completed' };
    } catch (error) {
      // Lease lost, instance cancelled meanwhile, or the database is away: the job row decides what happens next.
      jobLogger.warn({ err: error }, 'could not record the job result');
      await keepUnapplied(records, jobLogger);
      return { outcome: 'aborted', failure: error };
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
    }
  }

  /** The attempt's result was not applied (lease lost, cancelled, shut down, refused): attempt logs are kept anyway. */
  async function keepUnapplied(records: readonly JobRecord[], jobLogger: Logger): Promise<void> {
    if (records.length === 0) return;
    await inTransaction(engine.db, (tx) => engine.nodes.writeRecords(tx, records, false)).catch((error) =>
      jobLogger.warn({ err: error }, 'could not write the records of an unapplied attempt'),
    );
  }

  async function afterAbort(
    job: JobRow,
    controller: AbortController,
    lease: { worker: string; attempt: number },
    jobLogger: Logger,
    records: readonly JobRecord[],
  ): Promise<void> {
    const reason = controller.signal.reason;
    let applied = false;
    if (reason instanceof JobAbort && reason.reason === 'shutdown') {
      await releaseJob(engine.db, job.id, lease, engine.clock.now()).catch(() => undefined);
    }
    if (reason instanceof JobAbort && reason.reason === 'timeout') {
      const errorMessage = `${job.type} did not finish within ${Number(job.headers.timeoutMs ?? options.jobTimeoutMs)} ms`;
      applied = await engine
        .failJob(job.id, lease, { errorMessage }, records)
        .then(() => true)
        .catch((error) => {
          jobLogger.warn({ err: error }, 'could not record the timeout');
          return false;
        });
    }
    if (!applied) await keepUnapplied(records, jobLogger);
    jobLogger.info({ reason: reason instanceof JobAbort ? reason.reason : String(reason) }, 'job aborted');
  }

  async function jobLoop(pool: JobPool): Promise<void> {
    const claimFailures = new FailureLog(
      logger,
      { failed: 'claiming jobs failed', recovered: 'claiming jobs works again' },
      { pool: pool.name },
    );
    while (!stopping.signal.aborted) {
      let claimed = 0;
      const free = pool.capacity - pool.busy;
      if (free > 0) {
        try {
          const jobs = await engine.claimNodeJobs(pool.nodeNames, workerId, free, lockMs);
          claimFailures.succeeded();
          claimed = jobs.length;
          const claimedAt = Date.now();
          for (const job of jobs) {
            const controller = new AbortController();
            const entry = { controller, job, done: Promise.resolve() };
            running.set(job.id, entry);
            pool.taken(claimedAt - new Date(job.run_at).getTime());
            workMetrics.jobClaimed(job.type, (claimedAt - new Date(job.run_at).getTime()) / 1000);
            entry.done = runJob(job, controller).finally(() => {
              running.delete(job.id);
              pool.freed();
            });
          }
        } catch (error) {
          if (!stopping.signal.aborted) claimFailures.failed(error);
        }
      }
      if (claimed > 0 && claimed === free) continue;
      if (pool.wakeRequested) {
        pool.wakeRequested = false;
        continue;
      }
      // A wake-up (a finished job, shutdown) ends this wait through its own signal, so no
      // notification wait, timer or listener outlives it.
      const waitEnded = new AbortController();
      pool.resolveWait = () => waitEnded.abort();
      if (stopping.signal.aborted) waitEnded.abort();
      await engine.notifications.wait(
        pollMs,
        (channel, payload) => channel === CHANNELS.jobs && poolOfType(payload) === pool,
        waitEnded.signal,
        [CHANNELS.jobs],
      );
      pool.resolveWait = undefined;
      pool.wakeRequested = false;
    }
  }

  async function timerLoop(): Promise<void> {
    let partitionsCheckedAt = 0;
    let messageIdsSweptAt = 0;
    const timerFailures = new FailureLog(logger, {
      failed: 'firing timers failed',
      recovered: 'firing timers works again',
    });
    while (!stopping.signal.aborted) {
      let waitMs = pollMs;
      clockJumped = false;
      try {
        // Partitions follow the history rows' wall-clock created_at, not engine time.
        if (Date.now() - partitionsCheckedAt > 3_600_000) {
          partitionsCheckedAt = Date.now();
          const created = await ensureHistoryPartitions(engine.db, new Date());
          if (created.length > 0) logger.info({ partitions: created }, 'history partitions created');
          if (retentionMonths > 0) {
            const dropped = await dropHistoryPartitions(engine.db, new Date(), retentionMonths);
            if (dropped.length > 0) logger.info({ partitions: dropped }, 'history partitions dropped (retention)');
          }
        }
        const firing = {
          minCycleIntervalMs: engine.timerPolicy.minCycleIntervalMs,
          startRate: engine.startRate,
          clock: engine.clock,
        };
        const fired = await fireDueTimers(engine.db, engine.graphs, logger, firing);
        timerFailures.succeeded();
        if (fired > 0) continue;
        // Batch operations ride on this loop too (store/batch-process.ts).
        if ((await processBatchOperations(engine)) > 0) continue;
        await engine
          .db('messages')
          .where({ state: 'buffered' })
          .andWhere('expires_at', '<', engine.clock.now())
          .update({ state: 'expired' });
        if (Date.now() - messageIdsSweptAt > MESSAGE_ID_SWEEP_MS) {
          messageIdsSweptAt = Date.now();
          await forgetMessageIds(engine.db, engine.clock.now());
        }
        const next = await nextTimerDue(engine.db);
        // At least a short pause: a due timer whose instance is busy is retried, not spun on.
        if (next) waitMs = Math.max(25, Math.min(pollMs, next.getTime() - engine.clock.now().getTime()));
      } catch (error) {
        if (!stopping.signal.aborted) timerFailures.failed(error);
      }
      if (clockJumped) continue;
      const waitEnded = new AbortController();
      endTimerWait = () => waitEnded.abort();
      if (stopping.signal.aborted) waitEnded.abort();
      await engine.notifications.wait(
        waitMs,
        (channel, payload) =>
          channel === CHANNELS.timers && Date.parse(payload) - engine.clock.now().getTime() < waitMs,
        waitEnded.signal,
        [CHANNELS.timers],
      );
      endTimerWait = undefined;
    }
  }

  const defaultTtl = options.retentionDefault ?? retentionDefault();
  const artifactsDir = options.artifactsDir ?? defaultArtifactsDir();
  const retentionSweepMs = options.retentionSweepMs ?? (Number(process.env.OPERON_RETENTION_SWEEP_MS) || 60_000);
  const erasurePollMs = options.erasurePollMs ?? 5_000;

  /** Retention and erasure: batched, SKIP LOCKED, in their own loop so timers never wait for them. */
  async function maintenanceLoop(): Promise<void> {
    let sweptAt = 0;
    const maintenanceFailures = new FailureLog(logger, {
      failed: 'retention or erasure failed',
      recovered: 'retention and erasure work again',
    });
    while (!stopping.signal.aborted) {
      try {
        await runPendingErasures(engine.db, { owner: workerId, artifactsDir });
        if (Date.now() - sweptAt >= retentionSweepMs) {
          sweptAt = Date.now();
          const swept = await sweepExpiredInstances(engine.db, { defaultRetention: defaultTtl, artifactsDir });
          if (swept.instances > 0) logger.info(swept, 'expired instances deleted (retention)');
        }
        maintenanceFailures.succeeded();
      } catch (error) {
        if (!stopping.signal.aborted) maintenanceFailures.failed(error);
      }
      await sleep(Math.min(erasurePollMs, retentionSweepMs), undefined, { signal: stopping.signal }).catch(
        () => undefined,
      );
    }
  }

  const loops = [
    ...(options.jobs === false ? [] : pools.map((pool) => jobLoop(pool))),
    options.timers === false ? Promise.resolve() : timerLoop(),
    options.timers === false ? Promise.resolve() : maintenanceLoop(),
  ];
  logger.info(
    { nodeTypes: engine.nodes.names(), capacity: Object.fromEntries(pools.map((p) => [p.name, p.capacity])), lockMs },
    'worker started',
  );

  return {
    workerId,
    get running() {
      return running.size;
    },
    get pools() {
      return pools.map((pool) => pool.stats());
    },
    async stop() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      offClock?.();
      endTimerWait?.();
      for (const pool of pools) pool.wake();
      for (const entry of running.values()) entry.controller.abort(new JobAbort('shutdown'));
      const grace = new Promise<void>((resolve) => setTimeout(resolve, options.shutdownGraceMs ?? 5_000).unref());
      await Promise.race([Promise.allSettled([...running.values()].map((entry) => entry.done)), grace]);
      await Promise.allSettled(loops);
      offNotifications();
      logger.info('worker stopped');
    },
  };
}

/**
 * The in-process worker: runs the registered node types for the job types they handle and fires
 * due timers. Jobs of other types stay in the table for external workers (HTTP job API).
 *
 * Each job runs under a lease that a heartbeat extends; the node's AbortSignal fires when the lease
 * is lost, the job is cancelled (boundary timer, instance cancelled) or the worker shuts down.
 * Several workers (in one or many processes) share a database; PostgreSQL coordinates them.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { type BpmnError, isBpmnError, isOperonError } from './errors.ts';
import type { Logger, NodeContext, SecretStore } from './nodes/types.ts';
import type { JobRow } from './store/rows.ts';
import { CHANNELS } from './store/notify.ts';
import { fireDueTimers, nextTimerDue } from './timers/fire-due-timers.ts';
import { heartbeatJob } from './jobs/heartbeat-job.ts';
import { releaseJob } from './jobs/release-job.ts';
import { ensureHistoryPartitions } from './store/history-partitions.ts';
import { dropHistoryPartitions } from './store/drop-history-partitions.ts';
import { forgetMessageIds } from './store/remember-message-id.ts';
import type { PostgresEngine } from './engine.ts';

export interface WorkerOptions {
  /** Lease owner name; unique per worker. Default `<host>:<pid>:<random>`. */
  workerId?: string;
  /** Jobs run at the same time. Default 8. */
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
}

export interface Worker {
  readonly workerId: string;
  /** Jobs this worker is running right now. */
  readonly running: number;
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

export function startWorker(engine: PostgresEngine, options: WorkerOptions = {}): Worker {
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const concurrency = options.concurrency ?? 8;
  const lockMs = options.lockMs ?? 30_000;
  const pollMs = options.pollIntervalMs ?? 1_000;
  const secrets = options.secrets ?? environmentSecrets();
  const retentionMonths = options.historyRetentionMonths ?? Number(process.env.OPERON_HISTORY_RETENTION_MONTHS ?? 0);
  const logger: Logger = engine.logger.child({ worker: workerId });
  const nodeNames = engine.nodes.names();
  const running = new Map<string, { controller: AbortController; job: JobRow; done: Promise<void> }>();
  const stopping = new AbortController();
  // A finished job frees a slot; `wakeRequested` keeps a wake-up that arrives before the loop waits.
  let wakeRequested = false;
  let resolveWait: (() => void) | undefined;
  const wake = () => {
    wakeRequested = true;
    resolveWait?.();
  };

  const offNotifications = engine.notifications.on(
    (channel, payload) => {
      if (channel === CHANNELS.jobCancelled) running.get(payload)?.controller.abort(new JobAbort('cancelled'));
    },
    [CHANNELS.jobCancelled],
  );

  async function runJob(job: JobRow, controller: AbortController): Promise<void> {
    const lease = { worker: workerId, attempt: job.attempt };
    const jobLogger = logger.child({
      jobId: job.id,
      instanceId: job.process_instance_id,
      elementId: job.element_id,
      attempt: job.attempt,
    });
    const heartbeat = setInterval(
      () => {
        heartbeatJob(engine.db, job.id, lease, lockMs).catch((error) => {
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
      db: engine.db,
    };
    try {
      let output: Record<string, unknown> | void;
      try {
        output = await node.run(structuredClone(job.variables), ctx);
      } catch (error) {
        if (controller.signal.aborted) return await afterAbort(job, controller, lease, jobLogger);
        if (isBpmnError(error)) {
          const bpmnError = error as BpmnError;
          await engine.throwJobError(job.id, lease, {
            errorCode: bpmnError.errorCode,
            errorMessage: bpmnError.message,
            variables: bpmnError.variables,
          });
        } else if (isOperonError(error) && !error.retryable) {
          jobLogger.warn({ err: error }, 'node rejected the job; raising an incident');
          await engine.failJob(job.id, lease, {
            errorMessage: error.message,
            retries: 0,
            code: error.code,
            details: error.details,
          });
        } else {
          jobLogger.warn({ err: error }, 'node failed; will retry if retries remain');
          await engine.failJob(job.id, lease, { errorMessage: error instanceof Error ? error.message : String(error) });
        }
        return;
      }
      if (controller.signal.aborted) return await afterAbort(job, controller, lease, jobLogger);
      await engine.completeJob(job.id, lease, output ?? {}, job);
    } catch (error) {
      // Lease lost, instance cancelled meanwhile, or the database is away: the job row decides what happens next.
      jobLogger.warn({ err: error }, 'could not record the job result');
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
    }
  }

  async function afterAbort(
    job: JobRow,
    controller: AbortController,
    lease: { worker: string; attempt: number },
    jobLogger: Logger,
  ): Promise<void> {
    const reason = controller.signal.reason;
    if (reason instanceof JobAbort && reason.reason === 'shutdown') {
      await releaseJob(engine.db, job.id, lease).catch(() => undefined);
    }
    if (reason instanceof JobAbort && reason.reason === 'timeout') {
      await engine
        .failJob(job.id, lease, {
          errorMessage: `${job.type} did not finish within ${Number(job.headers.timeoutMs ?? options.jobTimeoutMs)} ms`,
        })
        .catch((error) => jobLogger.warn({ err: error }, 'could not record the timeout'));
    }
    jobLogger.info({ reason: reason instanceof JobAbort ? reason.reason : String(reason) }, 'job aborted');
  }

  async function jobLoop(): Promise<void> {
    while (!stopping.signal.aborted) {
      let claimed = 0;
      const free = concurrency - running.size;
      if (free > 0) {
        try {
          const jobs = await engine.claimNodeJobs(nodeNames, workerId, free, lockMs);
          claimed = jobs.length;
          for (const job of jobs) {
            const controller = new AbortController();
            const entry = { controller, job, done: Promise.resolve() };
            running.set(job.id, entry);
            entry.done = runJob(job, controller).finally(() => {
              running.delete(job.id);
              wake();
            });
          }
        } catch (error) {
          if (!stopping.signal.aborted) logger.error({ err: error }, 'claiming jobs failed');
        }
      }
      if (claimed > 0 && claimed === free) continue;
      if (wakeRequested) {
        wakeRequested = false;
        continue;
      }
      // A wake-up (a finished job, shutdown) ends this wait through its own signal, so no
      // notification wait, timer or listener outlives it.
      const waitEnded = new AbortController();
      resolveWait = () => waitEnded.abort();
      if (stopping.signal.aborted) waitEnded.abort();
      await engine.notifications.wait(
        pollMs,
        (channel, payload) => channel === CHANNELS.jobs && engine.nodes.resolve(payload) !== undefined,
        waitEnded.signal,
        [CHANNELS.jobs],
      );
      resolveWait = undefined;
      wakeRequested = false;
    }
  }

  async function timerLoop(): Promise<void> {
    let partitionsCheckedAt = 0;
    let messageIdsSweptAt = 0;
    while (!stopping.signal.aborted) {
      let waitMs = pollMs;
      try {
        if (Date.now() - partitionsCheckedAt > 3_600_000) {
          partitionsCheckedAt = Date.now();
          const created = await ensureHistoryPartitions(engine.db, new Date());
          if (created.length > 0) logger.info({ partitions: created }, 'history partitions created');
          if (retentionMonths > 0) {
            const dropped = await dropHistoryPartitions(engine.db, new Date(), retentionMonths);
            if (dropped.length > 0) logger.info({ partitions: dropped }, 'history partitions dropped (retention)');
          }
        }
        const firing = { minCycleIntervalMs: engine.timerPolicy.minCycleIntervalMs, startRate: engine.startRate };
        const fired = await fireDueTimers(engine.db, engine.graphs, logger, firing);
        if (fired > 0) continue;
        await engine
          .db('messages')
          .where({ state: 'buffered' })
          .andWhere('expires_at', '<', engine.db.fn.now())
          .update({ state: 'expired' });
        if (Date.now() - messageIdsSweptAt > MESSAGE_ID_SWEEP_MS) {
          messageIdsSweptAt = Date.now();
          await forgetMessageIds(engine.db);
        }
        const next = await nextTimerDue(engine.db);
        // At least a short pause: a due timer whose instance is busy is retried, not spun on.
        if (next) waitMs = Math.max(25, Math.min(pollMs, next.getTime() - Date.now()));
      } catch (error) {
        if (!stopping.signal.aborted) logger.error({ err: error }, 'firing timers failed');
      }
      await engine.notifications.wait(
        waitMs,
        (channel, payload) => channel === CHANNELS.timers && Date.parse(payload) - Date.now() < waitMs,
        stopping.signal,
        [CHANNELS.timers],
      );
    }
  }

  const loops = [
    options.jobs === false || nodeNames.length === 0 ? Promise.resolve() : jobLoop(),
    options.timers === false ? Promise.resolve() : timerLoop(),
  ];
  logger.info({ nodeTypes: nodeNames, concurrency, lockMs }, 'worker started');

  return {
    workerId,
    get running() {
      return running.size;
    },
    async stop() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      wake();
      for (const entry of running.values()) entry.controller.abort(new JobAbort('shutdown'));
      const grace = new Promise<void>((resolve) => setTimeout(resolve, options.shutdownGraceMs ?? 5_000).unref());
      await Promise.race([Promise.allSettled([...running.values()].map((entry) => entry.done)), grace]);
      await Promise.allSettled(loops);
      offNotifications();
      logger.info('worker stopped');
    },
  };
}

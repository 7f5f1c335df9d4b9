/**
 * Prometheus metrics for GET /metrics. Instance, incident and ready-job counts are read from
 * PostgreSQL at scrape time (so every engine process reports the same, whoever did the work);
 * webhook outcomes are observed by this HTTP server, and the work's own metrics (job, step,
 * decision, review and bot metrics; engine/telemetry/metrics.ts) by whichever part did it.
 * docs/observability.md lists them all.
 */
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from '../jobs/pools.ts';
import { workMetrics, workRegistry } from '../telemetry/metrics.ts';

export interface HttpMetrics {
  registry: Registry;
  /** Time from receiving a webhook to answering it. */
  webhookLatency: Histogram<'bpmn_process_id' | 'status'>;
  /** Webhook answers by process, status and error code (`none` for a start). */
  webhookRequests: Counter<'bpmn_process_id' | 'status' | 'code'>;
  /** An external worker took a job over HTTP (starts its latency clock). */
  jobActivated(jobId: string, type: string): void;
  /** An external worker reported a result for a job it took over HTTP. */
  jobFinished(jobId: string, outcome: 'completed' | 'failed' | 'error'): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const MAX_TRACKED_JOBS = 10_000;

export function createMetrics(
  db: Knex,
  options: { defaultMetrics?: boolean; timerStartsDelayed?: () => number; workerPools?: () => PoolStats[] } = {},
): HttpMetrics {
  const own = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: own, prefix: 'operon_' });

  const countBy = async (sql: string): Promise<{ key: string; n: number }[]> => {
    const result = (await db.raw(sql)) as { rows: { key: string; n: string }[] };
    return result.rows.map((row) => ({ key: row.key, n: Number(row.n) }));
  };

  // Both ready-job gauges come from one query per scrape.
  let readyScan: Promise<{ type: string; ready: number; oldest: number }[]> | undefined;
  const readyJobs = () => {
    readyScan ??= (
      db.raw(
        `SELECT type, count(*) AS ready, extract(epoch FROM now() - min(run_at)) AS oldest
           FROM jobs WHERE state = 'ready' AND run_at <= now() GROUP BY type`,
      ) as Promise<{ rows: { type: string; ready: string; oldest: string }[] }>
    )
      .then((result) =>
        result.rows.map((row) => ({ type: row.type, ready: Number(row.ready), oldest: Number(row.oldest) })),
      )
      .finally(() => setImmediate(() => (readyScan = undefined)));
    return readyScan;
  };

  new Counter({
    name: 'operon_instances_started_total',
    help: 'Process instances started, by BPMN process id (read from process_instances)',
    labelNames: ['bpmn_process_id'],
    registers: [own],
    async collect() {
      this.reset();
      for (const row of await countBy(
        `SELECT bpmn_process_id AS key, count(*) AS n FROM process_instances GROUP BY 1`,
      )) {
        this.inc({ bpmn_process_id: row.key }, row.n);
      }
    },
  });
  new Counter({
    name: 'operon_instances_completed_total',
    help: 'Process instances that reached an end event, by BPMN process id (read from process_instances)',
    labelNames: ['bpmn_process_id'],
    registers: [own],
    async collect() {
      this.reset();
      for (const row of await countBy(
        `SELECT bpmn_process_id AS key, count(*) AS n FROM process_instances WHERE state = 'completed' GROUP BY 1`,
      )) {
        this.inc({ bpmn_process_id: row.key }, row.n);
      }
    },
  });
  new Gauge({
    name: 'operon_open_incidents',
    help: 'Open incidents (read from incidents)',
    registers: [own],
    async collect() {
      const [row] = await countBy(`SELECT 'all' AS key, count(*) AS n FROM incidents WHERE state = 'open'`);
      this.set(row?.n ?? 0);
    },
  });

  new Counter({
    name: 'operon_timer_starts_delayed_total',
    help: 'Timer start events this engine process delayed because their process was over its start rate (OPERON_TIMER_START_RATE)',
    registers: [own],
    collect() {
      this.reset();
      this.inc(options.timerStartsDelayed?.() ?? 0);
    },
  });

  workerPoolMetrics(own, options.workerPools ?? (() => []));
  new Gauge({
    name: 'operon_jobs_ready',
    help: 'Jobs ready to run and not yet claimed, by task type: the queue in front of the workers (read from jobs)',
    labelNames: ['type'],
    registers: [own],
    async collect() {
      this.reset();
      for (const row of await readyJobs()) this.set({ type: row.type }, row.ready);
    },
  });
  new Gauge({
    name: 'operon_jobs_ready_oldest_seconds',
    help: 'How long the oldest ready, unclaimed job of each task type has waited for a worker (read from jobs)',
    labelNames: ['type'],
    registers: [own],
    async collect() {
      this.reset();
      for (const row of await readyJobs()) this.set({ type: row.type }, row.oldest);
    },
  });

  jobLimitMetrics(own, db);

  const webhookLatency = new Histogram({
    name: 'operon_webhook_latency_seconds',
    help: 'Time from receiving POST /webhooks/{bpmnProcessId} to answering it',
    labelNames: ['bpmn_process_id', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [own],
  });
  const webhookRequests = new Counter({
    name: 'operon_webhook_requests_total',
    help: 'Answers to POST /webhooks/{bpmnProcessId} by process id (unknown for ids without a webhook), HTTP status and error code (none when an instance started)',
    labelNames: ['bpmn_process_id', 'status', 'code'] as const,
    registers: [own],
  });

  const activations = new Map<string, { type: string; at: number }>();
  return {
    registry: Registry.merge([own, workRegistry]),
    webhookLatency,
    webhookRequests,
    jobActivated(jobId, type) {
      if (activations.size >= MAX_TRACKED_JOBS) activations.delete(activations.keys().next().value!);
      activations.set(jobId, { type, at: performance.now() });
    },
    jobFinished(jobId, outcome) {
      const activation = activations.get(jobId);
      if (!activation) return;
      activations.delete(jobId);
      workMetrics.jobFinished(activation.type, outcome, (performance.now() - activation.at) / 1000);
    },
  };
}

/** Capacity and use of this process's worker pools (engine/jobs/pools.ts), read at scrape time. */
function workerPoolMetrics(registry: Registry, pools: () => PoolStats[]): void {
  const gauge = (name: string, help: string, value: (pool: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const pool of pools()) this.set({ pool: pool.name }, value(pool));
      },
    });
  const counter = (name: string, help: string, value: (pool: PoolStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const pool of pools()) this.inc({ pool: pool.name }, value(pool));
      },
    });
  gauge(
    'operon_worker_pool_capacity',
    "Slots of this process's worker pool (--capacity, OPERON_CAPACITY)",
    (p) => p.capacity,
  );
  gauge('operon_worker_pool_busy', "Slots of this process's worker pool taken by running jobs", (p) => p.busy);
  counter('operon_worker_pool_claimed_total', "Jobs this process's worker pool claimed", (p) => p.claimed);
  counter(
    'operon_worker_pool_wait_seconds_total',
    "Time the jobs this process's worker pool claimed waited from ready (run_at) to claimed, summed",
    (p) => p.waitSeconds,
  );
}

/**
 * Concurrency limits written in the models (`operon:maxConcurrent`, `operon:capacity`;
 * engine/model/job-limits.ts), read from the jobs under them at scrape time: every limit that has
 * ready or leased jobs, by limit key (`task/<process>/<element>`, `process/<process>[/<node type>]`).
 */
function jobLimitMetrics(registry: Registry, db: Knex): void {
  let scan: Promise<{ key: string; slots: number; running: number; waiting: number }[]> | undefined;
  const limits = () => {
    scan ??= (
      db.raw(
        `SELECT l.key, max(l.slots::int) AS slots,
                count(*) FILTER (WHERE j.state = 'leased' AND j.lease_expires_at >= now()) AS running,
                count(*) FILTER (WHERE j.state = 'ready' AND j.run_at <= now()) AS waiting
           FROM jobs AS j, jsonb_each_text(j.concurrency_limits) AS l(key, slots)
          WHERE j.concurrency_limits IS NOT NULL AND j.state IN ('ready', 'leased')
          GROUP BY l.key`,
      ) as Promise<{ rows: { key: string; slots: number; running: string; waiting: string }[] }>
    )
      .then((result) =>
        result.rows.map((row) => ({
          key: row.key,
          slots: Number(row.slots),
          running: Number(row.running),
          waiting: Number(row.waiting),
        })),
      )
      .finally(() => setImmediate(() => (scan = undefined)));
    return scan;
  };
  const gauge = (
    name: string,
    help: string,
    value: (limit: { slots: number; running: number; waiting: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['limit'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const limit of await limits()) this.set({ limit: limit.key }, value(limit));
      },
    });
  gauge(
    'operon_job_limit_slots',
    'Jobs a concurrency limit of a model (operon:maxConcurrent, operon:capacity) lets run at once, across all workers',
    (l) => l.slots,
  );
  gauge('operon_job_limit_running', 'Jobs under a concurrency limit leased by a worker right now', (l) => l.running);
  gauge(
    'operon_job_limit_waiting',
    'Jobs under a concurrency limit that are ready and wait for a slot of the limit or of a worker pool',
    (l) => l.waiting,
  );
}

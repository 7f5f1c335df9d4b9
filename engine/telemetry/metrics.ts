/**
 * The Prometheus metrics that the work itself observes, in whichever engine process does it:
 * workers (job run and wait times), the store (step times), the decision node (confidence and
 * review rate), the bot node (runs and failures) and the review path (overrules). One registry
 * per process; GET /metrics (engine/http/metrics.ts) serves it with the metrics read from
 * PostgreSQL at scrape time. Prometheus adds up what each process reports.
 */
import { Counter, Histogram, Registry } from 'prom-client';

/** Seconds: from milliseconds (decisions, built-ins) to minutes (bots, people). */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const CONFIDENCE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1];

/** This process's registry of work metrics. */
export const workRegistry = new Registry();

/** How a job's attempt ended for the worker that ran it. */
export type JobRunOutcome = 'completed' | 'failed' | 'error' | 'aborted';

const jobLatency = new Histogram({
  name: 'operon_job_latency_seconds',
  help: 'Time a worker held a job: claim to result for the in-process worker, activation to complete/fail/error for external workers over HTTP',
  labelNames: ['type', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [workRegistry],
});
const jobWait = new Histogram({
  name: 'operon_job_wait_seconds',
  help: 'Time a job waited from ready (run_at) until a worker claimed it, by task type',
  labelNames: ['type'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [workRegistry],
});
const stepLatency = new Histogram({
  name: 'operon_step_latency_seconds',
  help: 'Time of one engine step (the runtime transition and the transaction that writes it), by BPMN process id and the event that drove it',
  labelNames: ['bpmn_process_id', 'event'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [workRegistry],
});
const decisionConfidence = new Histogram({
  name: 'operon_decision_confidence',
  help: 'Confidence of the decisions a model made, by model',
  labelNames: ['model'] as const,
  buckets: CONFIDENCE_BUCKETS,
  registers: [workRegistry],
});
const decisions = new Counter({
  name: 'operon_decisions_total',
  help: 'Decisions a model made, by model and route: automated (acted on) or review (handed to a person, the model answer review included); review rate = review / all',
  labelNames: ['model', 'route'] as const,
  registers: [workRegistry],
});
const reviews = new Counter({
  name: 'operon_decision_reviews_total',
  help: "Reviewer answers to a model's decisions, by model and verdict: agreed (same label as the model) or overruled (another label); overrule rate = overruled / all",
  labelNames: ['model', 'verdict'] as const,
  registers: [workRegistry],
});
const botRuns = new Counter({
  name: 'operon_bot_runs_total',
  help: 'Bot runs by bot and outcome (bot_runs.outcome): succeeded, business_error (a BPMN error), failed, timed_out, blocked (egress policy), aborted; failures = all but succeeded and business_error',
  labelNames: ['bot', 'outcome'] as const,
  registers: [workRegistry],
});

/** Where the work reports what it measured (the functions never throw). */
export const workMetrics = {
  jobFinished(type: string, outcome: JobRunOutcome, seconds: number): void {
    jobLatency.observe({ type, outcome }, seconds);
  },
  jobClaimed(type: string, waitedSeconds: number): void {
    jobWait.observe({ type }, Math.max(0, waitedSeconds));
  },
  step(bpmnProcessId: string, event: string, seconds: number): void {
    stepLatency.observe({ bpmn_process_id: bpmnProcessId, event }, seconds);
  },
  decision(model: string, confidence: number, needsReview: boolean): void {
    if (Number.isFinite(confidence)) decisionConfidence.observe({ model }, confidence);
    decisions.inc({ model, route: needsReview ? 'review' : 'automated' });
  },
  review(model: string, overruled: boolean): void {
    reviews.inc({ model, verdict: overruled ? 'overruled' : 'agreed' });
  },
  botRun(bot: string, outcome: 'succeeded' | 'business_error' | 'failed' | 'timed_out' | 'blocked' | 'aborted'): void {
    botRuns.inc({ bot, outcome });
  },
};

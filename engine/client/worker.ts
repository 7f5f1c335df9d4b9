/**
 * A small external job worker over the HTTP job API, for node code that runs outside the engine
 * process (another machine, another team). Any language can do the same; docs/http.md shows the
 * protocol and a Python worker.
 *
 * ```ts
 * const worker = createWorker({ baseUrl: 'http://localhost:3000', token, type: 'send-invoice',
 *   handler: async (job) => ({ invoiceSent: true }) });
 * // later: await worker.stop();
 * ```
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActivatedJob } from '../api.ts';
import type { Variables } from '../nodes/types.ts';

/** Throw from a handler to raise a BPMN error (caught by an error boundary event with this code). */
export class JobBpmnError extends Error {
  constructor(
    readonly errorCode: string,
    message?: string,
    readonly variables: Variables = {},
  ) {
    super(message ?? `BPMN error ${errorCode}`);
    this.name = 'BpmnError';
  }
}

export interface JobHelpers {
  /** Aborted when the worker stops or a heartbeat finds the lease lost. */
  signal: AbortSignal;
  /** Extends the lease (lockMs from now); done automatically every lockMs/2 while the handler runs. */
  heartbeat(): Promise<void>;
}

export interface CreateWorkerOptions {
  /** Where the Operon API listens, e.g. http://localhost:3000 */
  baseUrl: string;
  /** API bearer token. */
  token: string;
  /** The zeebe:taskDefinition type this worker handles. */
  type: string;
  /** Returns output variables; throw JobBpmnError for a business error, anything else to fail (retried). */
  handler(job: ActivatedJob, helpers: JobHelpers): Promise<Variables | void>;
  /** Worker name shown in the jobs table; default `<host>:<pid>:<type>`. */
  worker?: string;
  /** Jobs handled at the same time (default 1). */
  maxJobs?: number;
  /** Lease length (default 60 s). */
  lockMs?: number;
  /** Long-poll length per activate call (default 20 s). */
  requestTimeoutMs?: number;
  /** Backoff before a retry after a failed attempt (default 1 s). */
  retryBackoffMs?: number;
  /** Called on errors the worker recovers from (network, lease lost); default: ignored. */
  onError?(error: unknown): void;
}

export interface JobWorker {
  /** Stops polling, aborts running handlers, and waits for them to settle. */
  stop(): Promise<void>;
  /** Jobs completed, failed and errored so far. */
  readonly stats: { completed: number; failed: number; errored: number };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** From a 503's or 429's Retry-After header. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Most tries for reporting one job's result; the lease usually runs out sooner. */
const RESULT_TRIES = 10;

export function createWorker(options: CreateWorkerOptions): JobWorker {
  const workerName = options.worker ?? `${hostname()}:${process.pid}:${options.type}`;
  const maxJobs = options.maxJobs ?? 1;
  const lockMs = options.lockMs ?? 60_000;
  const stopping = new AbortController();
  const running = new Set<Promise<void>>();
  const stats = { completed: 0, failed: 0, errored: 0 };
  const report = (error: unknown) => options.onError?.(error);

  async function call<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const response = await fetch(new URL(path, options.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    const payload = (await response.json()) as { error?: { code: string; message: string } };
    if (!response.ok) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new HttpError(
        response.status,
        payload.error?.code ?? 'UNKNOWN',
        payload.error?.message ?? response.statusText,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      );
    }
    return payload as T;
  }

  /**
   * Sends a job's result until the engine answers it. Resending is safe: a result this lease already
   * applied is answered 200 again (replayed), so a lost answer (a dropped connection, a 503 while
   * the database is away) is simply asked again, after `Retry-After` when the server gave one. A
   * 4xx (409: another lease has or completed the job) is final.
   */
  async function sendResult(path: string, body: unknown): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await call(path, body);
        return;
      } catch (error) {
        const answered = error instanceof HttpError && error.status < 500;
        if (answered || tries >= RESULT_TRIES || stopping.signal.aborted) throw error;
        report(error);
        const waitMs =
          error instanceof HttpError && error.retryAfterSeconds
            ? error.retryAfterSeconds * 1000
            : Math.min(250 * 2 ** tries, 5_000);
        await sleep(waitMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  }

  async function handle(job: ActivatedJob): Promise<void> {
    const lease = { worker: workerName, attempt: job.attempt };
    const jobAbort = new AbortController();
    const onStop = () => jobAbort.abort();
    stopping.signal.addEventListener('abort', onStop);
    const heartbeat = async () => {
      try {
        await call(`/api/jobs/${job.id}/heartbeat`, { ...lease, lockMs });
      } catch (error) {
        if (error instanceof HttpError && error.status === 409) jobAbort.abort();
        throw error;
      }
    };
    const timer = setInterval(() => heartbeat().catch(report), Math.max(500, lockMs / 2));
    let result: { path: string; body: Record<string, unknown>; counter: keyof typeof stats } | undefined;
    try {
      const variables = await options.handler(job, { signal: jobAbort.signal, heartbeat });
      result = { path: 'complete', body: { variables: variables ?? {} }, counter: 'completed' };
    } catch (error) {
      // Stopped mid-job: say nothing, the lease runs out and another worker takes the job.
      if (!stopping.signal.aborted) result = outcomeOf(error, job);
    } finally {
      clearInterval(timer);
      stopping.signal.removeEventListener('abort', onStop);
    }
    if (!result) return;
    // A 409 here means the lease was lost (another worker has or completed the job): report, never retry.
    await sendResult(`/api/jobs/${job.id}/${result.path}`, { ...lease, ...result.body });
    stats[result.counter]++;
  }

  function outcomeOf(
    error: unknown,
    job: ActivatedJob,
  ): { path: string; body: Record<string, unknown>; counter: keyof typeof stats } {
    if (error instanceof JobBpmnError || (error as { name?: string }).name === 'BpmnError') {
      const bpmnError = error as JobBpmnError;
      return {
        path: 'error',
        body: { errorCode: bpmnError.errorCode, errorMessage: bpmnError.message, variables: bpmnError.variables ?? {} },
        counter: 'errored',
      };
    }
    const errorMessage = (error instanceof Error ? error.message : String(error)) || 'failed';
    return {
      path: 'fail',
      body: { errorMessage, retries: Math.max(0, job.retries - 1), retryBackoffMs: options.retryBackoffMs ?? 1000 },
      counter: 'failed',
    };
  }

  async function poll(): Promise<void> {
    while (!stopping.signal.aborted) {
      if (running.size >= maxJobs) {
        await Promise.race(running);
        continue;
      }
      try {
        const { jobs } = await call<{ jobs: ActivatedJob[] }>(
          '/api/jobs/activate',
          {
            type: options.type,
            worker: workerName,
            maxJobs: maxJobs - running.size,
            lockMs,
            requestTimeoutMs: options.requestTimeoutMs ?? 20_000,
          },
          stopping.signal,
        );
        for (const job of jobs) {
          const task = handle(job)
            .catch(report)
            .finally(() => running.delete(task));
          running.add(task);
        }
      } catch (error) {
        if (stopping.signal.aborted) break;
        report(error);
        await sleep(1000, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  }

  const loop = poll();
  return {
    stats,
    async stop() {
      stopping.abort();
      await loop;
      await Promise.allSettled([...running]);
    },
  };
}

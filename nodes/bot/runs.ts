/**
 * One `bot_runs` audit row per attempt, when the attempt has ended. The node attaches it to the
 * attempt (`ctx.record`); the hook writes it with the job's result, or on its own when the result
 * is never applied (lease lost, cancelled, shut down): every attempt touched the outside world.
 */
import type { RecordHook } from '../../engine/nodes/types.ts';
import type { BlockedRequest } from './egress.ts';

export type BotRunOutcome = 'succeeded' | 'business_error' | 'failed' | 'timed_out' | 'blocked' | 'aborted';

export interface BotRunRecord {
  id: string;
  bot: string;
  processInstanceId: string;
  elementId: string;
  elementInstanceKey: string;
  jobId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  outcome: BotRunOutcome;
  errorCode?: string;
  errorMessage?: string;
  blockedRequests?: BlockedRequest[];
  screenshotPath?: string;
  tracePath?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The record kind of a bot run (`ctx.record`). */
export const BOT_RUN_RECORD = 'bot_run';

export const botRunRecordHook: RecordHook = {
  kind: BOT_RUN_RECORD,
  keepUnapplied: true,
  async write(tx, rows) {
    await tx('bot_runs').insert(rows);
  },
};

/** The `bot_runs` row of one attempt. */
export function botRunRow(run: BotRunRecord): Record<string, unknown> {
  return {
    id: run.id,
    bot: run.bot,
    process_instance_id: UUID.test(run.processInstanceId) ? run.processInstanceId : null,
    element_id: run.elementId,
    element_instance_key: run.elementInstanceKey,
    job_id: run.jobId,
    attempt: run.attempt,
    started_at: run.startedAt,
    finished_at: new Date(run.startedAt.getTime() + run.durationMs),
    duration_ms: run.durationMs,
    outcome: run.outcome,
    error_code: run.errorCode ?? null,
    error_message: run.errorMessage ?? null,
    blocked_requests: JSON.stringify(run.blockedRequests ?? []),
    screenshot_path: run.screenshotPath ?? null,
    trace_path: run.tracePath ?? null,
  };
}

/** Writes one `bot_runs` audit row per attempt, when the attempt has ended. */
import type { Knex } from 'knex';
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

export async function recordBotRun(db: Knex, run: BotRunRecord): Promise<string> {
  const [row] = await db('bot_runs')
    .insert({
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
    })
    .returning('id');
  return (row as { id: string }).id;
}

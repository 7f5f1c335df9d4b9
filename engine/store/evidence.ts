/**
 * The evidence of one instance (EU AI Act Art. 12 logging, Art. 14 oversight), as one JSON document:
 * how it started (the webhook delivery or API call and who made it), every decision with the model
 * version, inputs and scores, every human review and task completion (who), every bot run, and the
 * instance's rows of the audit chain with their hashes, so they can be checked against the chain.
 */
import type { Db } from './rows.ts';

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value ?? undefined));

/** The evidence document; undefined when the instance does not exist (never did, or retention deleted it). */
export async function instanceEvidence(db: Db, instanceId: string): Promise<Record<string, unknown> | undefined> {
  const instance = (await db('process_instances').where({ id: instanceId }).first()) as
    | Record<string, unknown>
    | undefined;
  if (!instance) return undefined;
  const [deliveries, decisions, tasks, botRuns, audit, hold, head] = await Promise.all([
    db('idempotency_keys').where({ instance_id: instanceId }).orderBy('created_at'),
    db('decisions').where({ process_instance_id: instanceId }).orderBy('created_at'),
    db('user_tasks').where({ process_instance_id: instanceId }).orderBy('created_at'),
    db('bot_runs').where({ process_instance_id: instanceId }).orderBy('started_at'),
    db('audit_log').where({ process_instance_id: instanceId }).orderBy('seq'),
    db('legal_holds').where({ process_instance_id: instanceId }).first(),
    db('audit_chain_head').first('seq', 'hash'),
  ]);
  const startedBy = (audit as Record<string, unknown>[]).find((row) => row.action === 'instance.start');
  return {
    generatedAt: new Date().toISOString(),
    instance: {
      instanceId,
      bpmnProcessId: instance.bpmn_process_id,
      version: instance.version,
      definitionId: instance.definition_id,
      businessKey: instance.business_key ?? undefined,
      state: instance.state,
      startedAt: iso(instance.started_at),
      endedAt: iso(instance.ended_at),
      parentInstanceId: instance.parent_instance_id ?? undefined,
      legalHold: hold ? { reason: hold.reason, placedBy: hold.placed_by, placedAt: iso(hold.placed_at) } : undefined,
    },
    start: {
      by: startedBy ? { kind: startedBy.actor_kind, id: startedBy.actor_id } : undefined,
      at: iso(startedBy?.at ?? instance.started_at),
      webhookDeliveries: (deliveries as Record<string, unknown>[]).map((row) => ({
        scope: row.scope,
        key: row.key,
        requestHash: row.request_hash,
        statusCode: row.status_code,
        receivedAt: iso(row.created_at),
      })),
    },
    decisions: (decisions as Record<string, unknown>[]).map((row) => ({
      decisionId: row.id,
      elementId: row.element_id,
      jobId: row.job_id,
      modelName: row.model_name,
      modelVersion: row.model_version,
      modelFileHash: row.model_file_hash,
      inputs: row.inputs,
      prompt: row.prompt,
      scores: row.scores,
      label: row.label,
      confidence: row.confidence,
      threshold: row.threshold,
      needsReview: row.needs_review,
      reviewReasons: row.review_reasons,
      grounding: row.grounding ?? undefined,
      windows: row.windows ?? undefined,
      shadow: row.shadow_version
        ? { version: row.shadow_version, label: row.shadow_label, confidence: row.shadow_confidence }
        : undefined,
      decidedAt: iso(row.created_at),
      review: row.reviewed_label
        ? { label: row.reviewed_label, by: row.reviewed_by, at: iso(row.reviewed_at) }
        : undefined,
    })),
    humanTasks: (tasks as Record<string, unknown>[]).map((row) => ({
      taskId: row.id,
      elementId: row.element_id,
      name: row.name ?? undefined,
      state: row.state,
      completedBy: row.completed_by ?? undefined,
      result: row.result ?? undefined,
      createdAt: iso(row.created_at),
      completedAt: iso(row.completed_at),
    })),
    botRuns: (botRuns as Record<string, unknown>[]).map((row) => ({
      botRunId: row.id,
      bot: row.bot,
      elementId: row.element_id,
      jobId: row.job_id,
      attempt: row.attempt,
      outcome: row.outcome,
      errorCode: row.error_code ?? undefined,
      startedAt: iso(row.started_at),
      durationMs: row.duration_ms,
      blockedRequests: row.blocked_requests,
    })),
    audit: (audit as Record<string, unknown>[]).map((row) => ({
      seq: String(row.seq),
      at: iso(row.at),
      actor: { kind: row.actor_kind, id: row.actor_id },
      action: row.action,
      target: { kind: row.target_kind, id: row.target_id ?? undefined },
      change: row.change ?? undefined,
      redactedAt: iso(row.redacted_at),
      changeDigest: row.change_digest,
      prevHash: row.prev_hash,
      hash: row.hash,
    })),
    auditHead: head ? { seq: String(head.seq), hash: head.hash } : undefined,
  };
}

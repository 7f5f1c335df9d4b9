/**
 * The `decision` node type: handles every service task `decision:<model>`. The model folder is
 * checked at deploy time; at run time the case in the input variables becomes a prompt, the model
 * classifies it, and the result goes back to the process; the `decisions` audit row is written by
 * this package's record hook in the transaction that completes the job, so the row exists exactly
 * when the result was applied:
 * `{ [resultVariable]: { label, confidence, scores, modelVersion, needsReview, reviewReasons, decisionId } }`.
 * Declared model inputs (inputs.ts) are checked first: a malformed one is an incident
 * (OPERON_ERR_DECISION_INPUT, `details.field`), an odd one sends the case to review with a reason.
 *
 * Task headers: `labels` (comma separated; must equal the model's), `threshold` (0..1),
 * `prompt` (template override), `resultVariable` (default `decision`).
 */
import { workMetrics } from '../../engine/telemetry/metrics.ts';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Knex } from 'knex';
import { OperonError } from '../../engine/errors.ts';
import { ABSTAIN_LABELS } from '../../engine/store/review.ts';
import type { NodeBinding, NodeContext, NodeType, RecordHook, Variables } from '../../engine/nodes/types.ts';
import { DecisionAgent, DEFAULT_MODELS_DIR, type DecisionResult } from './agent.ts';
import { readModelConfig } from './model.ts';

export { DecisionAgent, type DecisionResult } from './agent.ts';

export interface DecisionNodeOptions {
  /** Folder holding one sub-folder per model (default: models/ of this repository). */
  modelsDir?: string;
  /**
   * Where the node reads which fine-tuned head is active or in shadow (`decision_model_versions`);
   * without it the base model decides. Audit rows never go through it (see `decisionRecordHook`).
   */
  db?: Knex;
  /**
   * What deploy-time validation of a `decision:<model>` task proves. `load` (default): the model
   * loads (once per process), so model.onnx and tokenizer.json work. `files`: its config (labels)
   * reads and both files are there, without loading onnxruntime, for processes that deploy and exit
   * (`operon deploy`); a corrupt model.onnx then shows at its first decision, as an incident.
   */
  deployCheck?: 'load' | 'files';
}

interface DecisionSettings {
  threshold?: number;
  template?: string;
  resultVariable: string;
  labels?: string[];
}

/** Parses and checks the task headers against the model's labels. */
export function decisionSettings(
  headers: Record<string, string>,
  modelLabels: string[],
  where: { elementId: string; model: string },
): DecisionSettings {
  const fail = (message: string) =>
    new OperonError('OPERON_ERR_UNKNOWN_MODEL', `${where.elementId}: ${message}`, { details: where });
  const labels = headers.labels
    ?.split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  if (
    labels &&
    (labels.length !== modelLabels.length || [...labels].sort().join() !== [...modelLabels].sort().join())
  ) {
    throw fail(`labels '${labels.join(', ')}' do not match model '${where.model}' (${modelLabels.join(', ')})`);
  }
  let threshold: number | undefined;
  if (headers.threshold !== undefined) {
    threshold = Number(headers.threshold);
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1)
      throw fail(`threshold '${headers.threshold}' is not a number between 0 and 1`);
  }
  return {
    threshold,
    template: headers.prompt || undefined,
    resultVariable: headers.resultVariable || 'decision',
    labels,
  };
}

/** The record kind of a decision's audit row (`ctx.record`). */
export const DECISION_RECORD = 'decision';

/**
 * Writes `decisions` rows in the transaction that completes their jobs. The completions that
 * commit together (group commit) bring their rows together: one multi-row INSERT per batch.
 */
export const decisionRecordHook: RecordHook = {
  kind: DECISION_RECORD,
  async write(tx, rows) {
    await tx('decisions').insert(rows);
  },
};

/** The `decisions` row of one decision. */
export function decisionRow(
  id: string,
  model: { name: string; fileHash: string },
  result: DecisionResult,
  inputs: Variables,
  where: { instanceId?: string; elementId?: string; elementInstanceId?: string; jobId?: string } = {},
): Record<string, unknown> {
  const uuid = (s?: string) => (s && /^[0-9a-f-]{36}$/i.test(s) ? s : null);
  return {
    id,
    process_instance_id: uuid(where.instanceId),
    element_id: where.elementId ?? null,
    element_instance_key: where.elementInstanceId ?? null,
    job_id: uuid(where.jobId),
    model_name: model.name,
    model_version: result.modelVersion,
    model_file_hash: model.fileHash,
    prompt: result.prompt,
    inputs: JSON.stringify(inputs),
    scores: JSON.stringify(result.scores),
    label: result.label,
    confidence: result.confidence,
    threshold: result.threshold,
    needs_review: result.needsReview,
    review_reasons: JSON.stringify(result.reviewReasons),
    grounding: result.grounding ? JSON.stringify(result.grounding) : null,
    windows: result.windows ? JSON.stringify(result.windows) : null,
    truncated: result.truncated,
    truncated_fields: JSON.stringify(result.truncatedFields),
    latency_ms: result.latencyMs,
    shadow_version: result.shadow?.version ?? null,
    shadow_label: result.shadow?.label ?? null,
    shadow_confidence: result.shadow?.confidence ?? null,
    shadow_scores: result.shadow ? JSON.stringify(result.shadow.scores) : null,
  };
}

/** Writes one audit row outside any job (`operon decide`, training data in tests); returns its id. */
export async function recordDecision(
  db: Knex,
  model: { name: string; fileHash: string },
  result: DecisionResult,
  inputs: Variables,
  where: { instanceId?: string; elementId?: string; elementInstanceId?: string; jobId?: string } = {},
): Promise<string> {
  const id = randomUUID();
  await db('decisions').insert(decisionRow(id, model, result, inputs, where));
  return id;
}

/** Stores a reviewer's answer for a decision (training data for the next head). */
export async function recordReview(db: Knex, decisionId: string, label: string, reviewer: string): Promise<void> {
  const updated = await db('decisions')
    .where({ id: decisionId })
    .update({ reviewed_label: label, reviewed_by: reviewer, reviewed_at: db.fn.now() });
  if (updated !== 1)
    throw new OperonError('OPERON_ERR_NOT_FOUND', `No decision ${decisionId}`, { details: { decisionId } });
}

export function createDecisionNode(options: DecisionNodeOptions = {}): NodeType {
  const modelsDir = resolve(options.modelsDir ?? DEFAULT_MODELS_DIR);
  return {
    name: 'decision',
    recordHooks: [decisionRecordHook],
    pool: 'decision',

    async validate(binding: NodeBinding) {
      const where = { elementId: binding.elementId, model: binding.name };
      let labels: string[];
      try {
        labels = readModelConfig(resolve(modelsDir, binding.name), binding.name).labels;
        // Loading builds the session once per process and proves model.onnx and tokenizer.json work.
        if (options.deployCheck !== 'files') await DecisionAgent.load(binding.name, { modelsDir });
      } catch (error) {
        const reason =
          error instanceof OperonError ? String(error.details.reason ?? error.message) : (error as Error).message;
        throw new OperonError(
          'OPERON_ERR_UNKNOWN_MODEL',
          `${binding.elementId}: decision model '${binding.name}' cannot be used: ${reason}`,
          { details: { ...where, reason }, cause: error },
        );
      }
      decisionSettings(binding.headers, labels, where);
    },

    async run(input: Variables, ctx: NodeContext) {
      const model = ctx.taskType.slice(ctx.taskType.indexOf(':') + 1);
      const where = { elementId: ctx.elementId, model };
      const agent = await DecisionAgent.load(model, { modelsDir, db: options.db }).catch((error: unknown) => {
        throw error instanceof OperonError
          ? new OperonError(error.code, error.message, { details: { ...error.details, ...where }, retryable: false })
          : error;
      });
      const settings = decisionSettings(ctx.headers, agent.labels, where);
      const infer = () =>
        agent.infer(input, { signal: ctx.signal, threshold: settings.threshold, template: settings.template });
      const attributes = { 'operon.decision.model': model };
      const result = ctx.trace
        ? await ctx.trace.span(`decision ${model}`, { attributes }, async (span) => {
            const made = await infer();
            span.setAttributes({
              'operon.decision.model_version': made.modelVersion,
              'operon.decision.label': made.label,
              'operon.decision.confidence': made.confidence,
              'operon.decision.needs_review': made.needsReview,
            });
            return made;
          })
        : await infer();
      // A confident `review` answer asks a person as surely as a doubtful one (the loan process's
      // gateway reads both): it counts on the review route, as eval:model counts it.
      workMetrics.decision(model, result.confidence, result.needsReview || ABSTAIN_LABELS.includes(result.label));
      const decisionId = randomUUID();
      ctx.record(DECISION_RECORD, decisionRow(decisionId, agent.model, result, input, ctx));
      ctx.logger.info(
        {
          model,
          label: result.label,
          confidence: result.confidence,
          needsReview: result.needsReview,
          reviewReasons: result.reviewReasons,
          decisionId,
        },
        'decision made',
      );
      const { label, confidence, scores, modelVersion, needsReview, reviewReasons } = result;
      return {
        [settings.resultVariable]: { label, confidence, scores, modelVersion, needsReview, reviewReasons, decisionId },
      };
    },

    async close() {
      await DecisionAgent.closeAll();
    },
  };
}

/** Process instances: list, inspect, start (idempotent), cancel. */
import { requestTrace } from '../request-spans.ts';
import type { Knex } from 'knex';
import { OperonError } from '../../errors.ts';
import { actorOf } from '../actor.ts';
import { requestHash, withIdempotencyKey, type IdempotencyClaim } from '../idempotency.ts';
import { lookAhead, toPage } from '../pagination.ts';
import { defineRoute, type RouteContext } from '../route.ts';
import {
  Instance,
  InstanceIdParams,
  InstanceList,
  InstanceListQuery,
  InstanceStarted,
  MigrateInstanceBody,
  MigrationOutcomeSchema,
  ModifyInstanceBody,
  StartInstanceBody,
} from '../schemas.ts';

interface DecisionRow {
  id: string;
  element_id: string | null;
  model_name: string;
  model_version: string;
  label: string;
  confidence: number;
  threshold: number;
  needs_review: boolean;
  review_reasons: string[];
  grounding: Record<string, { label: string; confidence: number }> | null;
  windows: { start: number; end: number; label: string; confidence: number }[] | null;
  scores: Record<string, number>;
  reviewed_label: string | null;
  reviewed_by: string | null;
  latency_ms: number;
  created_at: Date;
}

/** The decision log rows of one instance (table `decisions`, written by decision nodes). */
async function decisionsOf(db: Knex, instanceId: string): Promise<Record<string, unknown>[]> {
  const rows = (await db('decisions')
    .where({ process_instance_id: instanceId })
    .orderBy('created_at')) as DecisionRow[];
  return rows.map((row) => ({
    id: row.id,
    elementId: row.element_id,
    modelName: row.model_name,
    modelVersion: row.model_version,
    label: row.label,
    confidence: row.confidence,
    threshold: row.threshold,
    needsReview: row.needs_review,
    reviewReasons: row.review_reasons,
    grounding: row.grounding ?? undefined,
    windows: row.windows ?? undefined,
    scores: row.scores,
    reviewedLabel: row.reviewed_label ?? undefined,
    reviewedBy: row.reviewed_by ?? undefined,
    latencyMs: row.latency_ms,
    decidedAt: row.created_at.toISOString(),
  }));
}

export function instanceRoutes(context: RouteContext): void {
  const { engine, db } = context;

  defineRoute(context, {
    method: 'GET',
    url: '/api/instances',
    summary:
      'Process instances, newest first, filtered by process, state, business key and start time, one page at a time',
    tag: 'instances',
    permission: 'instances:read',
    query: InstanceListQuery,
    responses: { 200: { description: 'Instances', schema: InstanceList } },
    async handler({ query }) {
      const instances = await engine.listInstances({
        bpmnProcessId: query.process,
        state: query.state,
        businessKey: query.businessKey,
        startedAfter: query.startedAfter ? new Date(query.startedAfter) : undefined,
        startedBefore: query.startedBefore ? new Date(query.startedBefore) : undefined,
        ...lookAhead(query),
      });
      const { items, page } = toPage(instances, query);
      return { statusCode: 200, body: { instances: items, page } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/instances/:id',
    summary: 'One instance: state, variables, element instances, incidents and decisions',
    tag: 'instances',
    permission: 'instances:read',
    params: InstanceIdParams,
    responses: { 200: { description: 'The instance', schema: Instance } },
    async handler({ params }) {
      const instance = await engine.getInstance(params.id);
      if (!instance)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No process instance ${params.id}`, {
          details: { instanceId: params.id },
        });
      return { statusCode: 200, body: { ...instance, decisions: await decisionsOf(db, params.id) } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/instances',
    summary: 'Start an instance of the latest (or a pinned) version of a process',
    tag: 'instances',
    permission: 'start',
    body: StartInstanceBody,
    headers: {
      'idempotency-key':
        'Same key and body: the first response again, one instance (a repeat while the first still commits waits for it); other body: 422',
      traceparent: 'W3C trace context: the instance, its steps and jobs continue this trace (docs/observability.md)',
      tracestate: 'W3C trace state, kept with traceparent',
    },
    responses: { 201: { description: 'Instance started', schema: InstanceStarted } },
    async handler({ body, request }) {
      // With a key, the key row commits in the instance's transaction (engine/store/idempotency-keys.ts).
      const start = async (keyed?: IdempotencyClaim) => {
        const idempotency = keyed && { ...keyed, statusCode: 201 };
        const { instanceId } = await engine.startInstance(body.bpmnProcessId, body.variables ?? {}, {
          businessKey: body.businessKey,
          version: body.version,
          startedBy: request.identity?.id,
          idempotency,
          actor: actorOf(request),
          trace: requestTrace(request),
        });
        request.log.info({ instanceId, bpmnProcessId: body.bpmnProcessId }, 'instance started');
        return { statusCode: 201, body: { instanceId } };
      };
      engine.admit?.('start');
      const key = request.headers['idempotency-key'];
      if (typeof key !== 'string') return start();
      if (key.length === 0 || key.length > 255)
        throw new OperonError('OPERON_ERR_VALIDATION', 'Idempotency-Key must be 1 to 255 characters', {
          details: { field: 'headers.idempotency-key' },
        });
      const result = await withIdempotencyKey(
        db,
        { scope: 'start', key, requestHash: requestHash('start', request.rawBody ?? '') },
        start,
      );
      return {
        statusCode: result.statusCode,
        body: result.body,
        headers: result.replayed ? { 'idempotent-replayed': 'true' } : undefined,
      };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/instances/:id/cancel',
    summary:
      'Cancel an active instance: every active element is terminated, waits are cancelled. User tasks with canceling listeners (zeebe:taskListener) hold the termination: the answer is then 202 with the instance still active, and it ends once their jobs completed',
    tag: 'instances',
    permission: 'operate',
    params: InstanceIdParams,
    responses: {
      200: { description: 'The instance after cancellation', schema: Instance },
      202: { description: 'The instance, still active while canceling listeners run', schema: Instance },
    },
    async handler({ params, request }) {
      await engine.cancelInstance(params.id, { actor: actorOf(request) });
      request.log.info({ instanceId: params.id }, 'instance cancelled');
      const instance = await engine.getInstance(params.id);
      return { statusCode: instance?.state === 'active' ? 202 : 200, body: instance };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/instances/:id/modify',
    summary: 'Move tokens: activate element ids (retry from an element, skip ahead), terminate element instance keys',
    tag: 'instances',
    permission: 'operate',
    params: InstanceIdParams,
    body: ModifyInstanceBody,
    responses: { 200: { description: 'The instance after the modification', schema: Instance } },
    async handler({ params, body, request }) {
      if (!engine.modifyInstance)
        throw new OperonError('OPERON_ERR_VALIDATION', 'This engine does not support instance modification');
      await engine.modifyInstance(params.id, body, { actor: actorOf(request) });
      request.log.info({ instanceId: params.id, ...body }, 'instance modified');
      return { statusCode: 200, body: await engine.getInstance(params.id) };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/instances/:id/migration',
    summary:
      'Migrate the instance to another process definition along an element-id mapping; dryRun: report what would happen, write nothing',
    tag: 'instances',
    permission: 'operate',
    params: InstanceIdParams,
    body: MigrateInstanceBody,
    responses: {
      200: {
        description: 'Migrated (or, with dryRun, what would happen: ok with the new elements, or the refusal)',
        schema: MigrationOutcomeSchema,
      },
    },
    async handler({ params, body, request }) {
      if (!engine.migrateInstance)
        throw new OperonError('OPERON_ERR_VALIDATION', 'This engine does not support instance migration');
      const outcome = await engine.migrateInstance(
        params.id,
        { target: body.targetProcessDefinition, mappings: body.mappings, dryRun: body.dryRun },
        { actor: actorOf(request) },
      );
      if (!body.dryRun)
        request.log.info({ instanceId: params.id, target: body.targetProcessDefinition }, 'instance migrated');
      return { statusCode: 200, body: outcome };
    },
  });
}

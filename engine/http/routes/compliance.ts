/**
 * Compliance routes (docs/security.md): an instance's evidence document, legal holds, and erasure
 * requests for a data subject (carried out by the engines' maintenance loop).
 */
import { z } from 'zod';
import { OperonError } from '../../errors.ts';
import { getErasure, requestErasure } from '../../store/erasures.ts';
import { instanceEvidence } from '../../store/evidence.ts';
import { liftLegalHold, placeLegalHold } from '../../store/legal-holds.ts';
import { actorOf } from '../actor.ts';
import { defineRoute, type RouteContext } from '../route.ts';
import { InstanceIdParams } from '../schemas.ts';

const Evidence = z.record(z.string(), z.unknown()).meta({
  id: 'Evidence',
  description:
    'instance, start (who, webhook deliveries), decisions (model version, inputs, scores, review), humanTasks, botRuns, audit (the instance rows of the audit chain with hashes), auditHead',
});
const LegalHoldBody = z.object({ reason: z.string().min(1).max(1000) });
const LegalHold = z
  .object({
    instanceId: z.string(),
    reason: z.string(),
    placedBy: z.string(),
    placedAt: z.string(),
    heldInstances: z.number().int(),
  })
  .meta({ id: 'LegalHold' });
const LegalHoldLifted = z.object({ instanceId: z.string(), released: z.number().int() });
const ErasureBody = z.object({ businessKey: z.string().min(1).max(1000) });
const ErasureParams = z.object({ id: z.guid() });
const Erasure = z
  .object({
    erasureId: z.string(),
    state: z.enum(['pending', 'running', 'done', 'failed']),
    requestedBy: z.string(),
    requestedAt: z.string(),
    finishedAt: z.string().optional(),
    erasedInstances: z.number().int(),
    deletedArtifacts: z.number().int(),
    skippedActive: z.number().int(),
    skippedHeld: z.number().int(),
    error: z.string().optional(),
  })
  .meta({ id: 'Erasure' });

export function complianceRoutes(context: RouteContext): void {
  const { db } = context;

  defineRoute(context, {
    method: 'GET',
    url: '/api/instances/:id/evidence',
    summary:
      'Evidence of one instance as JSON: who started it (webhook delivery), decisions with model version, inputs and scores, reviews and task completions (who), bot runs, and its audit rows with hashes',
    tag: 'compliance',
    permission: 'instances:read',
    params: InstanceIdParams,
    responses: { 200: { description: 'The evidence document', schema: Evidence } },
    async handler({ params }) {
      const evidence = await instanceEvidence(db, params.id);
      if (!evidence)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No process instance ${params.id}`, {
          details: { instanceId: params.id },
        });
      return { statusCode: 200, body: evidence };
    },
  });

  defineRoute(context, {
    method: 'PUT',
    url: '/api/instances/:id/legal-hold',
    summary:
      'Place a legal hold on an instance and its called instances: retention does not delete them and erasure leaves them alone',
    tag: 'compliance',
    permission: 'admin',
    params: InstanceIdParams,
    body: LegalHoldBody,
    responses: { 200: { description: 'The hold', schema: LegalHold } },
    async handler({ params, body, request }) {
      const hold = await placeLegalHold(db, params.id, body.reason, actorOf(request));
      request.log.info({ instanceId: params.id, heldInstances: hold.heldInstances }, 'legal hold placed');
      return { statusCode: 200, body: hold };
    },
  });

  defineRoute(context, {
    method: 'DELETE',
    url: '/api/instances/:id/legal-hold',
    summary: 'Lift the legal hold of an instance (and its called instances)',
    tag: 'compliance',
    permission: 'admin',
    params: InstanceIdParams,
    responses: { 200: { description: 'How many holds were lifted', schema: LegalHoldLifted } },
    async handler({ params, request }) {
      const lifted = await liftLegalHold(db, params.id, actorOf(request));
      request.log.info({ instanceId: params.id, released: lifted.released }, 'legal hold lifted');
      return { statusCode: 200, body: lifted };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/erasures',
    summary:
      'Erase a data subject: every ended instance with this business key loses its variables, prompts, task data, webhook payloads, history payloads and bot artifacts; the audit skeleton stays. Carried out in the background (GET /api/erasures/{id})',
    tag: 'compliance',
    permission: 'admin',
    body: ErasureBody,
    responses: { 202: { description: 'Accepted; carried out by the maintenance loop', schema: Erasure } },
    async handler({ body, request }) {
      const erasure = await requestErasure(db, body.businessKey, actorOf(request));
      // The business key is never logged.
      request.log.info({ erasureId: erasure.erasureId }, 'erasure requested');
      return { statusCode: 202, body: erasure };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/erasures/:id',
    summary: 'An erasure request: its state and how many instances and artifacts it erased',
    tag: 'compliance',
    permission: 'admin',
    params: ErasureParams,
    responses: { 200: { description: 'The erasure', schema: Erasure } },
    async handler({ params }) {
      const erasure = await getErasure(db, params.id);
      if (!erasure)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No erasure ${params.id}`, { details: { erasureId: params.id } });
      return { statusCode: 200, body: erasure };
    },
  });
}

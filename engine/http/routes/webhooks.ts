/**
 * POST /webhooks/{bpmnProcessId}: another system starts a process instance. Checked in this order:
 * before the body is read, process deployed and webhook configured (one 401 for both, so that a
 * caller without credentials cannot tell which process ids exist) and, when signed, the signature
 * headers present with a fresh timestamp (401); then the signature on the body's raw bytes (401);
 * then the JSON body is parsed (400), then Idempotency-Key / webhook-id deduplication, then the
 * start variables the process declares (400 OPERON_ERR_START_VARIABLES,
 * engine/model/start-variables.ts), then one instance (202). While the database is unreachable or
 * too many starts wait, 503 with Retry-After before the Idempotency-Key is claimed (engine.admit).
 */
import { OperonError } from '../../errors.ts';
import { actorOf } from '../actor.ts';
import { withIdempotencyKey, requestHash, type IdempotencyClaim } from '../idempotency.ts';
import { defineRoute, type RouteContext } from '../route.ts';
import { InstanceStarted, ProcessIdParams, Variables, WebhookQuery } from '../schemas.ts';
import type { FastifyRequest } from 'fastify';
import type { DefinitionRef } from '../../store/rows.ts';
import { checkWebhookHeaders, verifyWebhook, type WebhookHeaders } from '../signature.ts';
import type { WebhookConfig, WebhookTarget } from '../webhook-config.ts';
import { toOperonError, validationError } from '../http-errors.ts';
import { parseJsonBody, passOverBody } from '../json-body.ts';
import { requestSpan, requestTrace } from '../request-spans.ts';

const MAX_KEY_LENGTH = 255;

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function signatureHeaders(request: FastifyRequest): WebhookHeaders {
  return {
    webhookId: header(request.headers['webhook-id']),
    webhookTimestamp: header(request.headers['webhook-timestamp']),
    webhookSignature: header(request.headers['webhook-signature']),
  };
}

function configured(
  bpmnProcessId: string,
  { latest, config }: WebhookTarget,
): { latest: DefinitionRef; config: WebhookConfig } {
  if (!latest || !config) {
    throw new OperonError(
      'OPERON_ERR_WEBHOOK_NOT_CONFIGURED',
      `No webhook is configured for ${bpmnProcessId}: deploy the process, then PUT /api/processes/${bpmnProcessId}/webhook with { secret } or { open: true }`,
      {
        details: { bpmnProcessId },
      },
    );
  }
  return { latest, config };
}

export function webhookRoutes(context: RouteContext): void {
  const { engine, db, metrics, webhookTargets } = context;
  /** One answer's latency and outcome; only ids with a webhook become label values (bounded cardinality). */
  const answered = (label: string, status: number, code: string, startedAt: number) => {
    metrics.webhookLatency.observe(
      { bpmn_process_id: label, status: String(status) },
      (performance.now() - startedAt) / 1000,
    );
    metrics.webhookRequests.inc({ bpmn_process_id: label, status: String(status), code });
  };
  defineRoute(context, {
    method: 'POST',
    url: '/webhooks/:bpmnProcessId',
    summary: 'Start an instance of the process; the JSON body becomes its variables',
    tag: 'webhooks',
    permission: 'webhook',
    params: ProcessIdParams,
    query: WebhookQuery,
    bodyDoc: { 'application/json': { schema: Variables, description: 'Start variables' } },
    headers: {
      'webhook-id': 'Standard Webhooks message id; a repeated id gets the first response and starts nothing',
      'webhook-timestamp': 'Unix seconds; must be within 5 minutes of the server clock',
      'webhook-signature': 'v1,<base64 HMAC-SHA256 of id.timestamp.body>; several space-separated signatures allowed',
      'idempotency-key':
        'Same key and body: the first response again (a repeat while the first still commits waits for it); other body: 422',
      traceparent: 'W3C trace context: the instance, its steps and jobs continue this trace (docs/observability.md)',
      tracestate: 'W3C trace state, kept with traceparent',
    },
    responses: { 202: { description: 'Instance started', schema: InstanceStarted } },
    async beforeBody(request) {
      const startedAt = performance.now();
      const { bpmnProcessId } = request.params as { bpmnProcessId: string };
      let label = 'unknown';
      try {
        const { config } = configured(bpmnProcessId, await webhookTargets.get(bpmnProcessId));
        label = bpmnProcessId;
        const verdict =
          config.mode === 'signed' ? checkWebhookHeaders(signatureHeaders(request)) : { ok: true as const };
        if (!verdict.ok)
          throw new OperonError('OPERON_ERR_BAD_SIGNATURE', undefined, {
            details: { bpmnProcessId, reason: verdict.reason },
          });
      } catch (error) {
        // The body is never buffered or parsed: node discards what still arrives (within the request timeout).
        const refused = toOperonError(error);
        answered(label, refused.statusCode, refused.code, startedAt);
        throw error;
      }
    },
    async handler({ params, query, request }) {
      const startedAt = performance.now();
      const { bpmnProcessId } = params;
      let status = 500;
      let code = 'none';
      // Only ids with a webhook become label values, so random URLs cannot blow up the metric's cardinality.
      let label = 'unknown';
      try {
        const { latest, config } = configured(bpmnProcessId, await webhookTargets.get(bpmnProcessId));
        label = bpmnProcessId;
        const rawBody = request.rawBody ?? Buffer.alloc(0);
        const webhookId = header(request.headers['webhook-id']);
        if (config.mode === 'signed') {
          const verdict = await passOverBody(rawBody, () =>
            verifyWebhook(config.secrets, signatureHeaders(request), rawBody),
          );
          if (!verdict.ok)
            throw new OperonError('OPERON_ERR_BAD_SIGNATURE', undefined, {
              details: { bpmnProcessId, reason: verdict.reason },
            });
        }
        const parsed = Variables.safeParse((await parseJsonBody(rawBody)) ?? {});
        if (!parsed.success) throw validationError('body', parsed.error);
        const variables = parsed.data;

        const idempotencyKey = header(request.headers['idempotency-key']);
        const claim = idempotencyKey
          ? { scope: `webhook:${bpmnProcessId}`, key: idempotencyKey }
          : webhookId
            ? { scope: `webhook-id:${bpmnProcessId}`, key: webhookId }
            : undefined;
        if (claim && (claim.key.length === 0 || claim.key.length > MAX_KEY_LENGTH)) {
          throw new OperonError(
            'OPERON_ERR_VALIDATION',
            `Idempotency-Key and webhook-id must be 1 to ${MAX_KEY_LENGTH} characters`,
            { details: { field: 'headers.idempotency-key' } },
          );
        }
        // Refused before the key is claimed, so a 503 leaves nothing behind for the retry to trip over.
        engine.admit?.('start');
        // With a key, the key row commits in the instance's transaction (engine/store/idempotency-keys.ts).
        const start = async (keyed?: IdempotencyClaim) => {
          const idempotency = keyed && { ...keyed, statusCode: 202 };
          const { instanceId } = await engine.startInstance(bpmnProcessId, variables, {
            businessKey: query.businessKey,
            latest,
            startedBy: `webhook:${bpmnProcessId}`,
            idempotency,
            actor: actorOf(request, { kind: 'webhook', id: bpmnProcessId }),
            trace: requestTrace(request),
          });
          requestSpan(request)?.setAttributes({
            'operon.bpmn_process_id': bpmnProcessId,
            'operon.instance_id': instanceId,
          });
          request.log.info({ instanceId, bpmnProcessId, webhookId }, 'instance started by webhook');
          return { statusCode: 202, body: { instanceId } };
        };
        const result = claim
          ? await withIdempotencyKey(
              db,
              { ...claim, requestHash: requestHash('webhook', bpmnProcessId, query.businessKey ?? '', rawBody) },
              start,
            )
          : { ...(await start()), replayed: false };
        status = result.statusCode;
        return {
          statusCode: result.statusCode,
          body: result.body,
          headers: result.replayed ? { 'idempotent-replayed': 'true' } : undefined,
        };
      } catch (error) {
        const refused = toOperonError(error);
        status = refused.statusCode;
        code = refused.code;
        throw error;
      } finally {
        answered(label, status, code, startedAt);
      }
    },
  });
}

/** Deployments, the process list and per-process webhook configuration. */
import type { Knex } from 'knex';
import type { DeployFile } from '../../api.ts';
import { OperonError } from '../../errors.ts';
import { actorOf } from '../actor.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { inTransaction } from '../../store/notify.ts';
import type { FastifyRequest } from 'fastify';
import { defineRoute, type RouteContext } from '../route.ts';
import { lookAhead, toPage } from '../pagination.ts';
import {
  DefinitionIdParams,
  DeploymentResponse,
  ProcessIdParams,
  ProcessList,
  ProcessListQuery,
  WebhookConfigBody,
  WebhookConfigResponse,
} from '../schemas.ts';
import { saveWebhookConfig, webhookModes } from '../webhook-config.ts';

const XML_TYPES = ['application/xml', 'text/xml'];
/** Most files one multipart deployment may hold. */
export const MAX_DEPLOY_FILES = 20;

/** The files of one deployment; multipart files may add up to `bodyLimit` bytes in all, however they are sent. */
async function filesOf(request: FastifyRequest, bodyLimit: number): Promise<DeployFile[]> {
  if (!request.isMultipart()) {
    const xml = typeof request.body === 'string' ? request.body : '';
    if (xml.trim() === '')
      throw new OperonError(
        'OPERON_ERR_VALIDATION',
        'Send BPMN XML as the body (Content-Type: application/xml) or as multipart files',
        { details: { field: 'body' } },
      );
    return [{ name: (request.headers['x-file-name'] as string | undefined) ?? 'request.bpmn', xml }];
  }
  const files: DeployFile[] = [];
  let total = 0;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      const chunks: Buffer[] = [];
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > bodyLimit) {
          throw new OperonError(
            'OPERON_ERR_PAYLOAD_TOO_LARGE',
            `The files of one deployment may add up to ${bodyLimit} bytes`,
            { details: { field: 'body', limit: bodyLimit } },
          );
        }
        chunks.push(chunk);
      }
      if (part.file.truncated)
        throw new OperonError('OPERON_ERR_PAYLOAD_TOO_LARGE', `A file may hold at most ${bodyLimit} bytes`, {
          details: { field: part.fieldname, limit: bodyLimit },
        });
      files.push({ name: part.filename || part.fieldname, xml: Buffer.concat(chunks).toString('utf8') });
    }
  } catch (error) {
    if (error instanceof OperonError) throw error;
    // busboy's parse errors (a truncated or malformed body) carry no code: the client's fault, a 400.
    // Limit errors carry fastify codes and keep their own mapping (413).
    if (error instanceof Error && !('code' in error) && !('statusCode' in error)) {
      throw new OperonError('OPERON_ERR_VALIDATION', `The multipart body is malformed: ${error.message}`, {
        details: { field: 'body' },
        cause: error,
      });
    }
    throw error;
  }
  if (files.length === 0)
    throw new OperonError('OPERON_ERR_VALIDATION', 'The multipart body holds no file', { details: { field: 'file' } });
  return files;
}

/** Throws 404 unless at least one version of the process is deployed. */
export async function requireProcess(db: Knex, bpmnProcessId: string): Promise<void> {
  const deployed = await db('process_definitions').where({ bpmn_process_id: bpmnProcessId }).first('id');
  if (!deployed) {
    throw new OperonError('OPERON_ERR_NOT_FOUND', `No process with id ${bpmnProcessId} is deployed`, {
      details: { bpmnProcessId },
    });
  }
}

export function deploymentRoutes(context: RouteContext): void {
  const { engine } = context;
  defineRoute(context, {
    method: 'POST',
    url: '/api/deployments',
    summary: 'Deploy BPMN and DMN files: the XML as the body, or several files as multipart/form-data',
    tag: 'deployments',
    permission: 'deploy',
    consumes: [...XML_TYPES, 'multipart/form-data'],
    bodyDoc: {
      'application/xml': {
        description:
          'One BPMN 2.0 or DMN 1.3 XML file (DMN is told by its namespace, or an X-File-Name ending in .dmn)',
      },
      'multipart/form-data': {
        description: `Up to ${MAX_DEPLOY_FILES} .bpmn and .dmn files, any field names, at most the body limit (5 MB) in all`,
      },
    },
    responses: {
      201: {
        description: 'Deployed (identical XML creates no new version: created=false)',
        schema: DeploymentResponse,
      },
    },
    async handler({ request }) {
      const files = await filesOf(request, context.bodyLimit);
      const result = await engine.deploy(files, { actor: actorOf(request) });
      // Other processes hear of it from the database (webhook-targets.ts); this one must not wait for that.
      for (const deployed of result.processes) context.webhookTargets.forget(deployed.bpmnProcessId);
      request.log.info({ processes: result.processes.map((p) => `${p.bpmnProcessId}:${p.version}`) }, 'deployed');
      return { statusCode: 201, body: result };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/processes',
    summary: 'Deployed process definitions, every version (by process id, newest first), one page at a time',
    tag: 'deployments',
    permission: 'processes:read',
    query: ProcessListQuery,
    responses: { 200: { description: 'A page of process definitions', schema: ProcessList } },
    async handler({ query }) {
      const rows = await engine.listProcesses(lookAhead(query));
      const { items, page } = toPage(rows, query);
      const modes = await webhookModes(context.db, [...new Set(items.map((p) => p.bpmnProcessId))]);
      return {
        statusCode: 200,
        body: { processes: items.map((p) => ({ ...p, webhook: modes.get(p.bpmnProcessId) ?? 'none' })), page },
      };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/definitions/:definitionId/xml',
    summary: 'The deployed BPMN XML of one process version (for diagram viewers)',
    tag: 'deployments',
    permission: 'processes:read',
    params: DefinitionIdParams,
    responses: { 200: { description: 'BPMN 2.0 XML', contentType: 'application/xml' } },
    async handler({ params }) {
      const xml = await engine.getProcessXml(params.definitionId);
      if (xml === undefined)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No process definition ${params.definitionId}`, {
          details: { definitionId: params.definitionId },
        });
      return { statusCode: 200, body: xml, headers: { 'content-type': 'application/xml; charset=utf-8' } };
    },
  });

  defineRoute(context, {
    method: 'PUT',
    url: '/api/processes/:bpmnProcessId/webhook',
    summary: 'Configure how POST /webhooks/{bpmnProcessId} is authenticated: Standard Webhooks secret(s) or open',
    tag: 'webhooks',
    permission: 'admin',
    params: ProcessIdParams,
    body: WebhookConfigBody,
    responses: {
      200: { description: 'The new configuration (secrets are never returned)', schema: WebhookConfigResponse },
    },
    async handler({ params, body, request }) {
      await requireProcess(context.db, params.bpmnProcessId);
      const secrets = 'secret' in body ? [body.secret] : 'secrets' in body ? body.secrets : [];
      const mode = 'open' in body ? 'open' : 'signed';
      await inTransaction(context.db, async (tx) => {
        await saveWebhookConfig(
          tx,
          params.bpmnProcessId,
          mode === 'open' ? { mode: 'open' } : { mode: 'signed', secrets },
        );
        // The secrets themselves never enter the audit trail.
        await appendAudit(tx, [
          {
            actor: actorOf(request),
            action: 'webhook.configure',
            target: { kind: 'process', id: params.bpmnProcessId },
            change: { mode, secretCount: secrets.length },
          },
        ]);
      });
      context.webhookTargets.forget(params.bpmnProcessId);
      request.log.info(
        { bpmnProcessId: params.bpmnProcessId, mode, secretCount: secrets.length },
        'webhook configured',
      );
      return { statusCode: 200, body: { bpmnProcessId: params.bpmnProcessId, mode, secretCount: secrets.length } };
    },
  });
}

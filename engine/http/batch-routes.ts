/** Batch operations: one retry, cancel, migrate or modify for every instance a filter matches, applied in the background. */
import { actorOf } from './actor.ts';
import { z } from 'zod';
import { lookAhead, PageInfo, pageQuery, toPage } from './pagination.ts';
import { defineRoute, type RouteContext } from './route.ts';
import { OperonError } from '../errors.ts';
import {
  createBatchOperation,
  getBatchOperation,
  listBatchItems,
  listBatchOperations,
  type BatchRequest,
} from '../store/batch-operations.ts';
import { resolveMigrationTarget } from '../store/migrate-instance.ts';
import { ElementMappingSchema, MigrationTargetSchema } from './schemas.ts';
import { CHANNELS, notifyAfterCommit } from '../store/notify.ts';

const Text = z.string().min(1).max(1000);

export const BatchFilter = z
  .strictObject({
    bpmnProcessId: Text.optional().meta({ description: 'BPMN process id' }),
    version: z
      .number()
      .int()
      .min(1)
      .max(2_147_483_647)
      .optional()
      .meta({ description: 'Process version (needs bpmnProcessId)' }),
    elementId: Text.optional().meta({
      description: 'retry: element of the open incident; cancel, migrate, modify: an element the instance is active in',
    }),
    incidentType: Text.optional().meta({ description: 'Code of an open incident, e.g. OPERON_ERR_JOB_FAILED' }),
    businessKey: Text.optional(),
  })
  .superRefine((filter, ctx) => {
    if (filter.version !== undefined && filter.bpmnProcessId === undefined)
      ctx.addIssue({ code: 'custom', path: ['version'], message: 'version needs bpmnProcessId' });
    if (Object.keys(filter).length === 0)
      ctx.addIssue({ code: 'custom', path: [], message: 'name at least one of the filter fields' });
  })
  .meta({ id: 'BatchFilter' });

const Kind = z.enum(['retry', 'cancel', 'migrate', 'modify']);
const ElementIds = z.array(Text).max(100);
const CreateBatchBody = z
  .strictObject({
    kind: Kind,
    filter: BatchFilter,
    migration: z
      .strictObject({
        targetProcessDefinition: MigrationTargetSchema,
        mappings: z.array(ElementMappingSchema).max(1000).default([]),
      })
      .optional()
      .meta({ description: 'migrate: where to, and the element mapping (as POST /api/instances/:id/migration)' }),
    modification: z
      .strictObject({ activate: ElementIds.default([]), terminateElementIds: ElementIds.default([]) })
      .optional()
      .meta({ description: 'modify: element ids to put a token on, element ids whose active instances end' }),
    dryRun: z.boolean().optional().meta({ description: 'Report what each matching instance would do; write nothing' }),
  })
  .superRefine((body, ctx) => {
    if (body.kind === 'migrate' && !body.migration)
      ctx.addIssue({ code: 'custom', path: ['migration'], message: 'migrate needs migration' });
    if (body.kind === 'migrate' && body.filter.bpmnProcessId === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['filter', 'bpmnProcessId'],
        message: 'migrate needs filter.bpmnProcessId',
      });
    if (body.kind !== 'migrate' && body.migration)
      ctx.addIssue({ code: 'custom', path: ['migration'], message: 'only for kind migrate' });
    if (body.kind === 'modify' && !body.modification)
      ctx.addIssue({ code: 'custom', path: ['modification'], message: 'modify needs modification' });
    if (
      body.kind === 'modify' &&
      body.modification &&
      body.modification.activate.length + body.modification.terminateElementIds.length === 0
    )
      ctx.addIssue({ code: 'custom', path: ['modification'], message: 'nothing to activate or terminate' });
    if (body.kind !== 'modify' && body.modification)
      ctx.addIssue({ code: 'custom', path: ['modification'], message: 'only for kind modify' });
  });
const BatchCreated = z.object({ id: z.guid(), total: z.number().int() });
const ItemStateEnd = z.enum(['done', 'failed', 'skipped']);
const DryRunReport = z.object({
  dryRun: z.literal(true),
  total: z.number().int(),
  truncated: z.boolean(),
  items: z.array(
    z.object({
      instanceId: z.guid(),
      state: ItemStateEnd,
      result: z.string().nullable(),
      error: z.string().nullable(),
      details: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
});
const Progress = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  retried: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
});
const BatchOperation = z
  .object({
    id: z.guid(),
    kind: Kind,
    filter: BatchFilter,
    request: z.record(z.string(), z.unknown()).nullable(),
    state: z.enum(['running', 'finished']),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    progress: Progress,
  })
  .meta({ id: 'BatchOperation' });
const ItemState = z.enum(['pending', 'retried', 'done', 'failed', 'skipped']);
const BatchItem = z.object({
  instanceId: z.guid(),
  seq: z.number().int(),
  state: ItemState,
  incidentIds: z.array(z.string()),
  result: z.string().nullable(),
  error: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  doneAt: z.string().nullable(),
});
const IdParams = z.object({ id: z.guid() });
const ItemsQuery = z.object({ state: ItemState.optional(), ...pageQuery() });
const ListQuery = z.object({ ...pageQuery() });

async function operationOr404(context: RouteContext, id: string) {
  const operation = await getBatchOperation(context.db, id);
  if (!operation)
    throw new OperonError('OPERON_ERR_NOT_FOUND', `Batch operation ${id} does not exist`, {
      details: { batchOperationId: id },
    });
  return operation;
}

export function batchRoutes(context: RouteContext): void {
  defineRoute(context, {
    method: 'POST',
    url: '/api/batch-operations',
    summary:
      'Retry, cancel, migrate or modify every active instance the filter matches now; the items are fixed at once and applied in the background by the workers; dryRun: report what each would do',
    tag: 'batch-operations',
    permission: 'operate',
    body: CreateBatchBody,
    responses: {
      202: { description: 'Created; poll GET /api/batch-operations/:id', schema: BatchCreated },
      200: { description: 'dryRun: what each matching instance would do; nothing written', schema: DryRunReport },
    },
    async handler({ body, request }) {
      const actor = actorOf(request);
      let batchRequest: BatchRequest | undefined;
      if (body.kind === 'migrate') {
        const target = await resolveMigrationTarget(context.db, body.migration!.targetProcessDefinition);
        batchRequest = {
          kind: 'migrate',
          targetDefinitionId: target.id,
          bpmnProcessId: target.bpmn_process_id,
          version: target.version,
          mappings: body.migration!.mappings,
        };
      }
      if (body.kind === 'modify') batchRequest = { kind: 'modify', ...body.modification! };
      if (body.dryRun) {
        if (!context.engine.dryRunBatchOperation)
          throw new OperonError('OPERON_ERR_VALIDATION', 'This engine does not support dry runs');
        const report = await context.engine.dryRunBatchOperation({
          kind: body.kind,
          filter: body.filter,
          request: batchRequest,
        });
        return { statusCode: 200, body: { dryRun: true as const, ...report } };
      }
      const created = await createBatchOperation(context.db, {
        kind: body.kind,
        filter: body.filter,
        request: batchRequest,
        createdBy: actor.id,
        actor,
      });
      // Wakes the workers' timer loops, which apply batch operations.
      await notifyAfterCommit(context.db, [[CHANNELS.timers, new Date().toISOString()]]);
      request.log.info(
        { batchOperationId: created.id, kind: body.kind, total: created.total },
        'batch operation created',
      );
      return { statusCode: 202, body: created };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/batch-operations',
    summary: 'Batch operations, newest first, each with its progress',
    tag: 'batch-operations',
    permission: 'instances:read',
    query: ListQuery,
    responses: {
      200: {
        description: 'A page of operations',
        schema: z.object({ operations: z.array(BatchOperation), page: PageInfo }),
      },
    },
    async handler({ query }) {
      const rows = await listBatchOperations(context.db, lookAhead(query));
      const { items, page } = toPage(rows, query);
      return { statusCode: 200, body: { operations: items, page } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/batch-operations/:id',
    summary: 'A batch operation with its progress (items by state)',
    tag: 'batch-operations',
    permission: 'instances:read',
    params: IdParams,
    responses: { 200: { description: 'The operation', schema: BatchOperation } },
    async handler({ params }) {
      return { statusCode: 200, body: await operationOr404(context, params.id) };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/batch-operations/:id/items',
    summary: "A batch operation's items, one per instance, in order, one page at a time; e.g. ?state=failed",
    tag: 'batch-operations',
    permission: 'instances:read',
    params: IdParams,
    query: ItemsQuery,
    responses: {
      200: { description: 'A page of items', schema: z.object({ items: z.array(BatchItem), page: PageInfo }) },
    },
    async handler({ params, query }) {
      await operationOr404(context, params.id);
      const rows = await listBatchItems(context.db, params.id, { state: query.state, ...lookAhead(query) });
      const { items, page } = toPage(rows, query);
      return { statusCode: 200, body: { items, page } };
    },
  });
}

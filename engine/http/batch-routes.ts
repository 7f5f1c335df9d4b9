/** Batch operations: one retry or cancel for every instance a filter matches, applied in the background. */
import { actorOf } from './actor.ts';
import { z } from 'zod';
import { lookAhead, PageInfo, pageQuery, toPage } from './pagination.ts';
import { defineRoute, type RouteContext } from './route.ts';
import { OperonError } from '../errors.ts';
import { createBatchOperation, getBatchOperation, listBatchItems } from '../store/batch-operations.ts';
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
      description: 'retry: element of the open incident; cancel: an element the instance is active in',
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

const CreateBatchBody = z.strictObject({ kind: z.enum(['retry', 'cancel']), filter: BatchFilter });
const BatchCreated = z.object({ id: z.guid(), total: z.number().int() });
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
    kind: z.enum(['retry', 'cancel']),
    filter: BatchFilter,
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
  doneAt: z.string().nullable(),
});
const IdParams = z.object({ id: z.guid() });
const ItemsQuery = z.object({ state: ItemState.optional(), ...pageQuery() });

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
      'Retry or cancel every active instance the filter matches now; the items are fixed at once and applied in the background by the workers',
    tag: 'batch-operations',
    permission: 'operate',
    body: CreateBatchBody,
    responses: { 202: { description: 'Created; poll GET /api/batch-operations/:id', schema: BatchCreated } },
    async handler({ body, request }) {
      const actor = actorOf(request);
      const created = await createBatchOperation(context.db, {
        kind: body.kind,
        filter: body.filter,
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

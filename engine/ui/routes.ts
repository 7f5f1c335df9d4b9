/**
 * The few /api/ui routes the cockpit needs beyond the public API: per-element statistics for
 * diagram overlays, an instance's history, bot runs and DMN decision evaluations, bot artifacts, a task's Camunda form,
 * claiming a task, and completing a review task so the reviewer's answer reaches `decisions`.
 * All take the API bearer token.
 */
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import type { UserTaskView } from '../api.ts';
import { OperonError } from '../errors.ts';
import { defineRoute, type RouteContext } from '../http/route.ts';
import { DefinitionIdParams, InstanceIdParams, UserTask, Variables } from '../http/schemas.ts';
import { insideArtifacts } from './artifacts.ts';
import { actorOf } from '../http/actor.ts';
import { embeddedForm } from './forms.ts';
import { prepareReview, type ReviewSettings } from './review.ts';
import { assigneeFor, completerOf, requireTaskAccess, requireTaskVisible } from '../http/task-access.ts';

export interface UiRouteOptions {
  /** Where bot artifacts live; default OPERON_ARTIFACTS_DIR, else .operon/artifacts. */
  artifactsDir?: string;
  /** Variable of a completed task holding the reviewer's label. */
  reviewVariable: string;
}

const ElementStatistics = z.object({
  elements: z.array(
    z.object({
      elementId: z.string(),
      active: z.number().int(),
      completed: z.number().int(),
      terminated: z.number().int(),
      incidents: z.number().int(),
    }),
  ),
});
const DefinitionStatistics = z.object({
  definitions: z.array(
    z.object({
      definitionId: z.string(),
      active: z.number().int(),
      completed: z.number().int(),
      terminated: z.number().int(),
      incidents: z.number().int(),
    }),
  ),
});
const HistoryList = z.object({
  events: z.array(
    z.object({
      id: z.string(),
      elementId: z.string().nullable(),
      elementInstanceKey: z.string().nullable(),
      type: z.string(),
      payload: z.unknown(),
      at: z.string(),
    }),
  ),
});
const BotRunList = z.object({ botRuns: z.array(z.record(z.string(), z.unknown())) });
const DecisionEvaluationList = z.object({
  evaluations: z.array(
    z.object({
      id: z.string(),
      elementId: z.string(),
      decisionId: z.string(),
      decisionName: z.string().nullable(),
      version: z.number().int(),
      inputs: z.record(z.string(), z.unknown()),
      matchedRuleIds: z.array(z.string()),
      output: z.unknown(),
      /** Every decision evaluated on the way (required decisions first), as decision_evaluations.evaluated. */
      evaluated: z.array(z.record(z.string(), z.unknown())),
      /** rule:<decision id>/<rule ids> when a rule answered, null when none matched (view decision_answers). */
      decidedBy: z.string().nullable(),
      at: z.string(),
    }),
  ),
});
const ArtifactParams = z.object({ id: z.guid(), kind: z.enum(['screenshot', 'trace']) });
const ClaimBody = z.object({ assignee: z.string().min(1).max(255).nullable().optional() }).strict();
const CompleteBody = z
  .object({ variables: Variables.optional(), completedBy: z.string().min(1).max(255).optional() })
  .strict();
const TaskForm = z.object({ formKey: z.string().nullable(), schema: z.record(z.string(), z.unknown()).nullable() });

const AuthConfig = z.object({
  /** Sign-in through the OpenID provider (authorization code + PKCE, public client); null when not configured. */
  oidc: z
    .object({
      issuer: z.string(),
      clientId: z.string(),
      scopes: z.string(),
      /** Extra authorization request parameters as a query string (OPERON_OIDC_AUTH_PARAMS), or null. */
      authParams: z.string().nullable(),
      authorizationEndpoint: z.string(),
      tokenEndpoint: z.string(),
    })
    .nullable(),
});

const count = (value: unknown) => Number(value ?? 0);

/** Declares the /api/ui routes (bearer token, listed in /openapi.json under the tag `ui`). */
export function uiRoutes(context: RouteContext, options: UiRouteOptions): void {
  const { db, engine } = context;
  const artifactsDir = resolve(options.artifactsDir ?? process.env.OPERON_ARTIFACTS_DIR ?? '.operon/artifacts');
  const review: ReviewSettings = { variable: options.reviewVariable };

  /** One task as the API shows it (listed per instance: tasks are keyed by instance). */
  async function findTask(taskId: string): Promise<UserTaskView | undefined> {
    const row = (await db('user_tasks').where({ id: taskId }).first('process_instance_id')) as
      | { process_instance_id: string }
      | undefined;
    if (!row) return undefined;
    return (await engine.listUserTasks({ instanceId: row.process_instance_id })).find((task) => task.id === taskId);
  }

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/auth-config',
    summary:
      "How the cockpit signs people in: the OpenID provider's endpoints, the cockpit's client id and scopes (no credentials needed)",
    tag: 'ui',
    permission: 'public',
    responses: {
      200: {
        description: 'The sign-in configuration; oidc is null without OPERON_OIDC_ISSUER and OPERON_OIDC_CLIENT_ID',
        schema: AuthConfig,
      },
      503: { description: "OPERON_ERR_IDP_UNAVAILABLE: the provider's discovery document cannot be fetched" },
    },
    async handler() {
      const verifier = context.access.oidc;
      const settings = verifier?.settings;
      if (!verifier || !settings?.clientId) return { statusCode: 200, body: { oidc: null } };
      let metadata: Awaited<ReturnType<typeof verifier.metadata>>;
      try {
        metadata = await verifier.metadata();
      } catch (error) {
        throw new OperonError(
          'OPERON_ERR_IDP_UNAVAILABLE',
          `The identity provider cannot be reached: ${(error as Error).message}`,
          { details: { issuer: settings.issuer } },
        );
      }
      if (!metadata.authorization_endpoint || !metadata.token_endpoint)
        throw new OperonError(
          'OPERON_ERR_IDP_UNAVAILABLE',
          "The identity provider's discovery document names no authorization_endpoint or token_endpoint",
          { details: { issuer: settings.issuer } },
        );
      return {
        statusCode: 200,
        body: {
          oidc: {
            issuer: settings.issuer,
            clientId: settings.clientId,
            scopes: settings.scopes,
            authParams: settings.authParams ?? null,
            authorizationEndpoint: metadata.authorization_endpoint,
            tokenEndpoint: metadata.token_endpoint,
          },
        },
      };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/statistics',
    summary: 'Instances per definition version by state, and open incidents (cockpit process list)',
    tag: 'ui',
    permission: 'processes:read',
    responses: { 200: { description: 'Counts per definition', schema: DefinitionStatistics } },
    async handler() {
      const [states, incidents] = await Promise.all([
        db('process_instances').select('definition_id', 'state').count('* as n').groupBy('definition_id', 'state'),
        db('incidents as i')
          .join('process_instances as p', 'p.id', 'i.process_instance_id')
          .where('i.state', 'open')
          .select('p.definition_id')
          .count('* as n')
          .groupBy('p.definition_id'),
      ]);
      const byDefinition = new Map<
        string,
        { definitionId: string; active: number; completed: number; terminated: number; incidents: number }
      >();
      const entry = (id: string) =>
        byDefinition.get(id) ??
        byDefinition.set(id, { definitionId: id, active: 0, completed: 0, terminated: 0, incidents: 0 }).get(id)!;
      for (const row of states as { definition_id: string; state: 'active' | 'completed' | 'terminated'; n: unknown }[])
        entry(row.definition_id)[row.state] = count(row.n);
      for (const row of incidents as { definition_id: string; n: unknown }[])
        entry(row.definition_id).incidents = count(row.n);
      return { statusCode: 200, body: { definitions: [...byDefinition.values()] } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/definitions/:definitionId/statistics',
    summary:
      'Element instances per BPMN element of one definition version by state, and open incidents (diagram overlays)',
    tag: 'ui',
    permission: 'processes:read',
    params: DefinitionIdParams,
    responses: { 200: { description: 'Counts per element', schema: ElementStatistics } },
    async handler({ params }) {
      const [states, incidents] = await Promise.all([
        db('element_instances as e')
          .join('process_instances as p', 'p.id', 'e.process_instance_id')
          .where('p.definition_id', params.definitionId)
          .select('e.element_id', 'e.state')
          .count('* as n')
          .groupBy('e.element_id', 'e.state'),
        db('incidents as i')
          .join('process_instances as p', 'p.id', 'i.process_instance_id')
          .where({ 'p.definition_id': params.definitionId, 'i.state': 'open' })
          .select('i.element_id')
          .count('* as n')
          .groupBy('i.element_id'),
      ]);
      const byElement = new Map<
        string,
        { elementId: string; active: number; completed: number; terminated: number; incidents: number }
      >();
      const entry = (id: string) =>
        byElement.get(id) ??
        byElement.set(id, { elementId: id, active: 0, completed: 0, terminated: 0, incidents: 0 }).get(id)!;
      for (const row of states as { element_id: string; state: 'active' | 'completed' | 'terminated'; n: unknown }[])
        entry(row.element_id)[row.state] = count(row.n);
      for (const row of incidents as { element_id: string; n: unknown }[])
        entry(row.element_id).incidents = count(row.n);
      return { statusCode: 200, body: { elements: [...byElement.values()] } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/instances/:id/history',
    summary: "An instance's latest 1,000 history events, oldest first",
    tag: 'ui',
    permission: 'instances:read',
    params: InstanceIdParams,
    responses: { 200: { description: 'History events', schema: HistoryList } },
    async handler({ params }) {
      const rows = (
        await db('history').where({ process_instance_id: params.id }).orderBy('id', 'desc').limit(1000)
      ).reverse() as {
        id: string | number;
        element_id: string | null;
        element_instance_key: string | null;
        event_type: string;
        payload: unknown;
        created_at: Date;
      }[];
      const events = rows.map((row) => ({
        id: String(row.id),
        elementId: row.element_id,
        elementInstanceKey: row.element_instance_key,
        type: row.event_type,
        payload: row.payload ?? null,
        at: row.created_at.toISOString(),
      }));
      return { statusCode: 200, body: { events } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/instances/:id/bot-runs',
    summary: "An instance's bot runs (duration, outcome, whether a screenshot and trace exist)",
    tag: 'ui',
    permission: 'instances:read',
    params: InstanceIdParams,
    responses: { 200: { description: 'Bot runs', schema: BotRunList } },
    async handler({ params }) {
      if (!(await db.schema.hasTable('bot_runs'))) return { statusCode: 200, body: { botRuns: [] } };
      const rows = (await db('bot_runs').where({ process_instance_id: params.id }).orderBy('started_at')) as Record<
        string,
        unknown
      >[];
      return { statusCode: 200, body: { botRuns: rows.map(toBotRunView) } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/instances/:id/decision-evaluations',
    summary: "An instance's DMN decision evaluations (business rule tasks): inputs, matched rules, output",
    tag: 'ui',
    permission: 'instances:read',
    params: InstanceIdParams,
    responses: { 200: { description: 'Decision evaluations, oldest first', schema: DecisionEvaluationList } },
    async handler({ params }) {
      const rows = (await db('decision_evaluations as e')
        .leftJoin('decision_definitions as d', 'd.id', 'e.decision_definition_id')
        .where({ 'e.process_instance_id': params.id })
        .orderBy('e.id')
        .select('e.*', 'd.name as decision_name')) as {
        id: string | number;
        element_id: string;
        decision_id: string;
        decision_name: string | null;
        version: number;
        inputs: Record<string, unknown>;
        matched_rule_ids: string[];
        output: unknown;
        evaluated: Record<string, unknown>[];
        evaluated_at: Date;
      }[];
      const evaluations = rows.map((row) => ({
        id: String(row.id),
        elementId: row.element_id,
        decisionId: row.decision_id,
        decisionName: row.decision_name,
        version: row.version,
        inputs: row.inputs,
        matchedRuleIds: row.matched_rule_ids,
        output: row.output ?? null,
        evaluated: row.evaluated,
        // As the view decision_answers writes it.
        decidedBy: row.matched_rule_ids.length > 0 ? `rule:${row.decision_id}/${row.matched_rule_ids.join(',')}` : null,
        at: row.evaluated_at.toISOString(),
      }));
      return { statusCode: 200, body: { evaluations } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/bot-runs/:id/:kind',
    summary: "A bot run's screenshot (PNG) or Playwright trace (zip), read only from the artifacts directory",
    tag: 'ui',
    permission: 'instances:read',
    params: ArtifactParams,
    responses: { 200: { description: 'The file', contentType: 'application/octet-stream' } },
    async handler({ params }) {
      const notFound = () =>
        new OperonError('OPERON_ERR_NOT_FOUND', `Bot run ${params.id} has no ${params.kind}`, {
          details: { botRunId: params.id, kind: params.kind },
        });
      if (!(await db.schema.hasTable('bot_runs'))) throw notFound();
      const row = (await db('bot_runs').where({ id: params.id }).first()) as Record<string, unknown> | undefined;
      const stored = row ? artifactPath(row, params.kind) : undefined;
      if (!stored) throw notFound();
      const file = await insideArtifacts(artifactsDir, stored);
      if (!file) throw notFound();
      const type = params.kind === 'screenshot' ? 'image/png' : 'application/zip';
      return {
        statusCode: 200,
        body: createReadStream(file),
        headers: {
          'content-type': type,
          'content-disposition': `attachment; filename="${basename(file).replace(/[^\w.-]/g, '_')}"`,
        },
      };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/ui/tasks/:id/form',
    summary: "A user task's Camunda form (zeebe:userTaskForm embedded in the process), or null schema when it has none",
    tag: 'ui',
    permission: 'tasks:read',
    params: InstanceIdParams,
    responses: { 200: { description: 'The form-js schema', schema: TaskForm } },
    async handler({ params, request }) {
      await requireTaskVisible(engine, request.identity, params.id);
      const task = (await db('user_tasks as t')
        .join('process_instances as p', 'p.id', 't.process_instance_id')
        .where('t.id', params.id)
        .select('t.form_key', 'p.definition_id')
        .first()) as { form_key: string | null; definition_id: string } | undefined;
      if (!task)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No user task ${params.id}`, { details: { taskId: params.id } });
      const schema = task.form_key ? await embeddedForm(db, task.definition_id, task.form_key) : undefined;
      return { statusCode: 200, body: { formKey: task.form_key, schema: schema ?? null } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/ui/tasks/:id/claim',
    summary:
      'Claim an open user task for yourself (assignee: your name, or omit it), or unclaim it with null; only a candidate may claim, only the holder (or an admin) may unclaim',
    tag: 'ui',
    permission: 'tasks:complete',
    params: InstanceIdParams,
    body: ClaimBody,
    responses: {
      200: { description: 'The task', schema: UserTask },
      202: {
        description: 'The task, assigning: its assigning listeners (zeebe:taskListener) run first',
        schema: UserTask,
      },
    },
    async handler({ params, body, request }) {
      const identity = request.identity!;
      const assignee = assigneeFor(identity, body.assignee);
      await requireTaskAccess(engine, identity, params.id);
      if (!(await findTask(params.id)))
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No user task ${params.id}`, { details: { taskId: params.id } });
      const { pending } = engine.assignUserTask
        ? await engine.assignUserTask(params.id, assignee, { actor: actorOf(request) })
        : { pending: false };
      const task = (await findTask(params.id))!;
      request.log.info(
        { instanceId: task.instanceId, taskId: task.id, pending },
        assignee ? 'user task claimed' : 'user task unclaimed',
      );
      return { statusCode: pending ? 202 : 200, body: task };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/ui/tasks/:id/complete',
    summary: `Complete an open user task as the signed-in caller (the development token may name completedBy; it defaults to the assignee); when its variables hold the review variable (${options.reviewVariable}), the answer is stored as the reviewed label of the decision the task reviews`,
    tag: 'ui',
    permission: 'tasks:complete',
    params: InstanceIdParams,
    body: CompleteBody,
    responses: { 200: { description: 'The completed task', schema: UserTask } },
    async handler({ params, body, request }) {
      const variables = body.variables ?? {};
      const named = completerOf(request.identity, body.completedBy);
      await requireTaskAccess(engine, request.identity, params.id);
      const found = await findTask(params.id);
      const open = found?.state === 'open' ? found : undefined;
      // The development token may still name the reviewer in the answer, as before sign-in existed.
      const reviewerVariable =
        request.identity?.kind === 'dev' && typeof variables.reviewer === 'string' && variables.reviewer
          ? variables.reviewer
          : undefined;
      const completedBy = named ?? reviewerVariable ?? open?.assignee;
      // Checked before completing, so a label the model does not know never completes the task.
      const pending = open ? await prepareReview(db, open, variables, review) : undefined;
      await engine.completeUserTask(params.id, variables, completedBy, { actor: actorOf(request) });
      if (pending) await pending.record(completedBy ?? 'cockpit');
      const task = await findTask(params.id);
      if (!task)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No user task ${params.id}`, { details: { taskId: params.id } });
      request.log.info(
        { instanceId: task.instanceId, taskId: task.id, reviewed: Boolean(pending) },
        'user task completed',
      );
      return { statusCode: 200, body: task };
    },
  });
}

/** A `bot_runs` row as the cockpit shows it; artifact paths become flags (the files are fetched by run id). */
function toBotRunView(row: Record<string, unknown>): Record<string, unknown> {
  const time = (value: unknown) => (value instanceof Date ? value.toISOString() : undefined);
  const started = row.started_at instanceof Date ? row.started_at.getTime() : undefined;
  const finished = row.finished_at instanceof Date ? row.finished_at.getTime() : undefined;
  return {
    id: row.id,
    elementId: row.element_id ?? undefined,
    bot: row.bot ?? undefined,
    attempt: row.attempt ?? undefined,
    outcome: row.outcome ?? undefined,
    errorCode: row.error_code ?? undefined,
    error: row.error_message ?? undefined,
    startedAt: time(row.started_at),
    finishedAt: time(row.finished_at),
    durationMs:
      row.duration_ms != null
        ? Number(row.duration_ms)
        : started !== undefined && finished !== undefined
          ? finished - started
          : undefined,
    blockedRequests: Array.isArray(row.blocked_requests) ? row.blocked_requests.length : 0,
    hasScreenshot: Boolean(artifactPath(row, 'screenshot')),
    hasTrace: Boolean(artifactPath(row, 'trace')),
  };
}

function artifactPath(row: Record<string, unknown>, kind: 'screenshot' | 'trace'): string | undefined {
  const value = kind === 'screenshot' ? row.screenshot_path : row.trace_path;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

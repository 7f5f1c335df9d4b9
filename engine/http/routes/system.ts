/** Health and the OpenAPI document (no token needed), Prometheus metrics (an API token or OPERON_METRICS_TOKEN). */
import { readFileSync } from 'node:fs';
import knex, { type Knex } from 'knex';
import { defineRoute, type RouteContext } from '../route.ts';
import { buildOpenApi } from '../openapi.ts';
import { Health } from '../schemas.ts';

const packageVersion = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function systemRoutes(context: RouteContext): void {
  const { db, metrics } = context;
  // /healthz asks the database on a connection of its own: a pool busy with work (a flood of starts
  // waiting for connections) must not make a live server look dead, nor a dead database look alive.
  let probe: Knex | undefined;
  const healthProbe = () =>
    (probe ??= knex({ client: 'pg', connection: db.client.config.connection, pool: { min: 0, max: 1 } }));
  context.app.addHook('onClose', async () => {
    await probe?.destroy();
  });

  defineRoute(context, {
    method: 'GET',
    url: '/healthz',
    summary: 'Liveness and database reachability',
    tag: 'system',
    permission: 'public',
    responses: { 200: { description: 'Healthy', schema: Health } },
    async handler() {
      await healthProbe().raw('SELECT 1');
      return { statusCode: 200, body: { status: 'ok', database: 'ok' } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/metrics',
    summary:
      'Prometheus metrics: job backlog, wait and latency, step latency, decisions, reviews, bot runs, webhook answers, instances and incidents (docs/observability.md; bearer: an API token or OPERON_METRICS_TOKEN)',
    tag: 'system',
    permission: 'metrics',
    responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
    async handler() {
      return {
        statusCode: 200,
        body: await metrics.registry.metrics(),
        headers: { 'content-type': metrics.registry.contentType },
      };
    },
  });

  let document: Record<string, unknown> | undefined;
  defineRoute(context, {
    method: 'GET',
    url: '/openapi.json',
    summary: 'This OpenAPI 3.1 document, generated from the schemas that validate requests',
    tag: 'system',
    permission: 'public',
    responses: { 200: { description: 'OpenAPI document' } },
    async handler() {
      document ??= buildOpenApi(context.book, { version: packageVersion });
      return { statusCode: 200, body: document };
    },
  });
}

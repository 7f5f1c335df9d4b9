/** API keys for machines (docs/security.md): create (the key is shown once), list, revoke. Admin only. */
import { z } from 'zod';
import { OperonError } from '../../errors.ts';
import { actorOf } from '../actor.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth.ts';
import { permissionsOf, ROLES } from '../identity.ts';
import { defineRoute, type RouteContext } from '../route.ts';

const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    roles: z.array(z.enum(ROLES)),
    taskTypes: z.array(z.string()).nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });
const CreateApiKeyBody = z
  .object({
    name: z.string().min(1).max(255),
    roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
    taskTypes: z
      .array(z.string().min(1).max(255))
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'Job types a worker key may activate and finish (required with the worker role)' }),
  })
  .strict();
const CreatedApiKey = z.object({
  token: z.string().meta({ description: 'The key itself: shown this once' }),
  key: ApiKey,
});
const ApiKeyParams = z.object({ id: z.guid() });

const Me = z.object({
  kind: z.enum(['user', 'apiKey', 'dev', 'webhook', 'metricsToken']),
  id: z.string(),
  name: z.string(),
  roles: z.array(z.enum(ROLES)),
  groups: z.array(z.string()),
  taskTypes: z.array(z.string()).optional(),
  permissions: z.array(z.string()),
});

export function apiKeyRoutes(context: RouteContext): void {
  const { db, tokens } = context;

  defineRoute(context, {
    method: 'GET',
    url: '/api/me',
    summary:
      'Who the caller is signed in as: identity id (what is recorded as starter and completer), roles, groups, permissions',
    tag: 'security',
    permission: 'signed-in',
    responses: { 200: { description: 'The identity', schema: Me } },
    async handler({ request }) {
      const identity = request.identity!;
      return { statusCode: 200, body: { ...identity, permissions: [...permissionsOf(identity)] } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/api-keys',
    summary:
      'Create an API key with roles (and job types for a worker); the answer holds the key, shown only this once',
    tag: 'security',
    permission: 'admin',
    body: CreateApiKeyBody,
    responses: { 201: { description: 'The key and its token', schema: CreatedApiKey } },
    async handler({ body, request }) {
      const created = await createApiKey(db, body, actorOf(request));
      tokens.forget();
      request.log.info({ apiKeyId: created.key.id, roles: created.key.roles }, 'API key created');
      return { statusCode: 201, body: created };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/api-keys',
    summary: 'API keys (never the keys themselves), oldest first',
    tag: 'security',
    permission: 'admin',
    responses: { 200: { description: 'API keys', schema: z.object({ keys: z.array(ApiKey) }) } },
    async handler() {
      return { statusCode: 200, body: { keys: await listApiKeys(db) } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/api-keys/:id/revoke',
    summary: 'Revoke an API key: refused from then on (other API servers within 5 s)',
    tag: 'security',
    permission: 'admin',
    params: ApiKeyParams,
    responses: { 200: { description: 'The revoked key', schema: ApiKey } },
    async handler({ params, request }) {
      const key = await revokeApiKey(db, params.id, actorOf(request));
      if (!key)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No API key ${params.id}`, { details: { apiKeyId: params.id } });
      tokens.forget();
      request.log.info({ apiKeyId: key.id }, 'API key revoked');
      return { statusCode: 200, body: key };
    },
  });
}

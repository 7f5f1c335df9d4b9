/**
 * Who sent a request, for the audit trail: the authenticated identity when the authentication layer
 * set one (`request.identity`), otherwise the shared API token. The one place routes learn their actor.
 */
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../store/audit-log.ts';

/** The actor of a bearer-authenticated request without an identity: the shared API token. */
export const API_TOKEN_ACTOR: Actor = { kind: 'token', id: 'api-token' };

/** The request's actor; `fallback` when no identity was set (default: the shared API token). */
export function actorOf(request: FastifyRequest, fallback: Actor = API_TOKEN_ACTOR): Actor {
  const identity = (request as { identity?: { kind?: unknown; id?: unknown } }).identity;
  if (identity && typeof identity.kind === 'string' && typeof identity.id === 'string')
    return { kind: identity.kind, id: identity.id };
  return fallback;
}

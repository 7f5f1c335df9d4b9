/**
 * Who is calling, and what they may do (docs/security.md). Every route declares one `Permission`;
 * one onRequest hook (app.ts) turns the request's credentials into an `Identity` and refuses the
 * request (401 / 403, before its body is read) unless one of the identity's roles grants that
 * permission. Finer checks that need the resource (candidate users and groups of a user task, the
 * job types of a worker key, four-eyes) are made by the routes with the helpers below.
 *
 * Credentials: the development token and API keys (`api_tokens`, see auth.ts), and, when
 * OPERON_OIDC_ISSUER is set, OpenID Connect access tokens (JWTs) verified against the issuer's JWKS.
 */
import type { FastifyRequest } from 'fastify';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { OperonError } from '../errors.ts';
import { bearerToken, sameToken, type ApiTokenVerifier } from './auth.ts';

export const ROLES = ['admin', 'modeler', 'operator', 'reviewer', 'worker', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a route needs. `public`: anyone (health, the OpenAPI document, the cockpit's files);
 * `webhook`: the process's webhook configuration (checked by the handler); `signed-in`: any
 * authenticated caller with at least one role; `metrics`: a role with
 * `metrics` or OPERON_METRICS_TOKEN. The others need a role that grants them (ROLE_PERMISSIONS).
 */
export const PERMISSIONS = [
  'public',
  'webhook',
  'signed-in',
  'metrics',
  'processes:read',
  'instances:read',
  'tasks:read',
  'tasks:complete',
  'deploy',
  'start',
  'operate',
  'jobs',
  'admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The permissions each role grants. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS.filter((p) => p !== 'public' && p !== 'webhook'),
  modeler: ['signed-in', 'processes:read', 'deploy'],
  operator: ['signed-in', 'processes:read', 'instances:read', 'tasks:read', 'start', 'operate', 'metrics'],
  reviewer: ['signed-in', 'tasks:read', 'tasks:complete'],
  worker: ['signed-in', 'jobs'],
  viewer: ['signed-in', 'processes:read', 'instances:read', 'tasks:read', 'metrics'],
};

/**
 * The authenticated caller, as `request.identity`. `id` is what the engine records as the actor
 * (`user_tasks.completed_by`, `decisions.reviewed_by`, `process_instances.started_by`): the user's
 * name claim for people, `apiKey:<uuid>` for API keys, `dev` for the development token,
 * `webhook:<bpmnProcessId>` for webhook callers, `metrics-token` for OPERON_METRICS_TOKEN.
 */
export interface Identity {
  kind: 'user' | 'apiKey' | 'dev' | 'webhook' | 'metricsToken';
  id: string;
  /** A label for people: the user's name claim, the API key's name. */
  name: string;
  roles: Role[];
  /** The user's groups (from the groups claim); empty for machines. */
  groups: string[];
  /** For API keys with the worker role: the job types it may activate and finish. */
  taskTypes?: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request; set by the permission hook before anything else reads the request. */
    identity?: Identity;
  }
}

export function permissionsOf(identity: Pick<Identity, 'roles'>): Set<Permission> {
  return new Set(identity.roles.flatMap((role) => ROLE_PERMISSIONS[role] ?? []));
}

export function hasPermission(identity: Pick<Identity, 'roles'>, permission: Permission): boolean {
  return permissionsOf(identity).has(permission);
}

export function forbidden(message: string, details: Record<string, unknown> = {}): OperonError {
  return new OperonError('OPERON_ERR_FORBIDDEN', message, { details });
}

function unauthorized(message: string, reason: string): OperonError {
  return new OperonError('OPERON_ERR_UNAUTHORIZED', message, { details: { reason } });
}

/** OpenID Connect settings (OPERON_OIDC_*); absent when no issuer is configured. */
export interface OidcSettings {
  issuer: string;
  /** The `aud` an access token must carry (OPERON_OIDC_AUDIENCE). */
  audience: string;
  /** Claim holding the user's roles (OPERON_OIDC_ROLES_CLAIM, default `roles`; a dotted path such as `realm_access.roles` works). */
  rolesClaim: string;
  /** Claim holding the user's groups (OPERON_OIDC_GROUPS_CLAIM, default `groups`). */
  groupsClaim: string;
  /** Claim naming the user, matched against candidate users and recorded as reviewer (OPERON_OIDC_USER_CLAIM, default `preferred_username`, else `sub`). */
  userClaim: string;
  /** The cockpit's public client id for the authorization code + PKCE sign-in (OPERON_OIDC_CLIENT_ID). */
  clientId?: string;
  /** Scopes the cockpit asks for (OPERON_OIDC_SCOPES, default `openid profile`). */
  scopes: string;
  /** Extra authorization request parameters as a query string, e.g. `resource=urn:operon` (OPERON_OIDC_AUTH_PARAMS). */
  authParams?: string;
}

export function oidcSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OidcSettings | undefined {
  const issuer = env.OPERON_OIDC_ISSUER?.trim();
  if (!issuer) return undefined;
  const audience = env.OPERON_OIDC_AUDIENCE?.trim();
  if (!audience)
    throw new Error('OPERON_OIDC_ISSUER is set but OPERON_OIDC_AUDIENCE is not: access tokens need an audience');
  return {
    issuer,
    audience,
    rolesClaim: env.OPERON_OIDC_ROLES_CLAIM || 'roles',
    groupsClaim: env.OPERON_OIDC_GROUPS_CLAIM || 'groups',
    userClaim: env.OPERON_OIDC_USER_CLAIM || 'preferred_username',
    clientId: env.OPERON_OIDC_CLIENT_ID || undefined,
    scopes: env.OPERON_OIDC_SCOPES || 'openid profile',
    authParams: env.OPERON_OIDC_AUTH_PARAMS || undefined,
  };
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Verifies access tokens (JWTs) against the issuer's published keys (discovery, then jwks_uri). */
export class OidcVerifier {
  private jwks?: ReturnType<typeof createRemoteJWKSet>;
  private discovery?: Promise<{ jwks_uri: string; authorization_endpoint?: string; token_endpoint?: string }>;

  constructor(readonly settings: OidcSettings) {}

  /** The issuer's discovery document (/.well-known/openid-configuration), fetched once. */
  metadata(): Promise<{ jwks_uri: string; authorization_endpoint?: string; token_endpoint?: string }> {
    this.discovery ??= (async () => {
      const url = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      const document = (await response.json()) as { issuer?: string; jwks_uri?: string };
      if (document.issuer !== this.settings.issuer)
        throw new Error(`${url} names issuer ${document.issuer}, not ${this.settings.issuer}`);
      if (!document.jwks_uri) throw new Error(`${url} has no jwks_uri`);
      return document as { jwks_uri: string };
    })();
    this.discovery.catch(() => {
      this.discovery = undefined;
    });
    return this.discovery;
  }

  async verify(token: string): Promise<Identity> {
    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      this.jwks ??= createRemoteJWKSet(new URL((await this.metadata()).jwks_uri));
      keys = this.jwks;
    } catch (error) {
      throw new OperonError(
        'OPERON_ERR_IDP_UNAVAILABLE',
        `The identity provider cannot be reached: ${(error as Error).message}`,
        {
          details: { issuer: this.settings.issuer },
        },
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'RS384', 'RS512', 'PS384', 'PS512', 'ES512'],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError))
        throw new OperonError('OPERON_ERR_IDP_UNAVAILABLE', `The identity provider's keys cannot be fetched`, {
          details: { issuer: this.settings.issuer },
        });
      throw unauthorized(`The access token was refused: ${describeJoseError(error)}`, joseReason(error));
    }
    const name = claimAt(payload, this.settings.userClaim);
    const id = typeof name === 'string' && name ? name : payload.sub!;
    const roles = stringList(claimAt(payload, this.settings.rolesClaim)).filter((role): role is Role =>
      (ROLES as readonly string[]).includes(role),
    );
    return {
      kind: 'user',
      id,
      name: id,
      roles,
      groups: stringList(claimAt(payload, this.settings.groupsClaim)),
    };
  }
}

function joseReason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'issuer';
    if (error.claim === 'aud') return 'audience';
    if (error.claim === 'nbf') return 'not-yet-valid';
    return 'claims';
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
  return 'malformed';
}

function describeJoseError(error: unknown): string {
  const reason = joseReason(error);
  return (
    (
      {
        expired: 'it has expired',
        issuer: 'it was issued by another issuer',
        audience: 'it is for another audience',
        'not-yet-valid': 'it is not valid yet',
        claims: 'a required claim is missing or wrong',
        signature: 'its signature does not verify',
        'unknown-key': 'it is signed with a key the issuer does not publish',
      } as Record<string, string>
    )[reason] ?? 'it is not a well-formed signed JWT'
  );
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface AccessOptions {
  tokens: ApiTokenVerifier;
  oidc?: OidcVerifier;
  metricsToken?: string;
}

/** Turns credentials into an identity and checks route permissions. */
export class Access {
  constructor(private readonly options: AccessOptions) {}

  get oidc(): OidcVerifier | undefined {
    return this.options.oidc;
  }

  /** The identity behind `Authorization: Bearer ...`; 401 when absent or not valid. */
  async authenticate(request: FastifyRequest): Promise<Identity> {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthorized('Send Authorization: Bearer <token> with an API key or access token', 'missing');
    if (this.options.oidc && JWT_SHAPE.test(token)) return this.options.oidc.verify(token);
    const row = await this.options.tokens.verify(token);
    if (!row) throw unauthorized('The bearer token is not a valid API key', 'unknown-key');
    if (row.kind === 'dev') return { kind: 'dev', id: 'dev', name: row.name, roles: ['admin'], groups: [] };
    return {
      kind: 'apiKey',
      id: `apiKey:${row.id}`,
      name: row.name,
      roles: row.roles,
      groups: [],
      ...(row.taskTypes ? { taskTypes: row.taskTypes } : {}),
    };
  }

  /** Sets `request.identity` and refuses the request unless it may use a route needing `permission`. */
  async check(request: FastifyRequest, permission: Permission): Promise<void> {
    if (permission === 'public') return;
    if (permission === 'webhook') {
      const { bpmnProcessId } = request.params as { bpmnProcessId?: string };
      request.identity = {
        kind: 'webhook',
        id: `webhook:${bpmnProcessId ?? ''}`,
        name: 'webhook',
        roles: [],
        groups: [],
      };
      return;
    }
    if (permission === 'metrics' && this.options.metricsToken) {
      const token = bearerToken(request.headers.authorization);
      if (sameToken(token, this.options.metricsToken)) {
        request.identity = { kind: 'metricsToken', id: 'metrics-token', name: 'metrics', roles: [], groups: [] };
        return;
      }
    }
    const identity = await this.authenticate(request);
    request.identity = identity;
    if (!hasPermission(identity, permission)) {
      throw forbidden(
        `${identity.roles.length ? `Roles ${identity.roles.join(', ')} do` : 'A caller without roles does'} not grant ${permission}`,
        { permission, roles: identity.roles },
      );
    }
  }
}

/** Whether `identity` may see and act on any user task regardless of its candidates. */
export function seesAllTasks(identity: Identity): boolean {
  return hasPermission(identity, 'instances:read') || identity.roles.includes('admin');
}

export interface TaskCandidates {
  assignee: string | null;
  candidateGroups: string[] | null;
  candidateUsers: string[] | null;
}

/**
 * Whether a person may claim or complete a task: the assignee when there is one; otherwise one of
 * its candidate users or a member of one of its candidate groups; anyone allowed tasks when it
 * names no candidates. Admins (and the development token) may act on any task.
 */
export function mayWorkOn(identity: Identity, task: TaskCandidates): boolean {
  if (identity.roles.includes('admin')) return true;
  if (task.assignee) return task.assignee === identity.id;
  return isCandidate(identity, task);
}

/** Whether the task offers itself to `identity` (ignoring who holds it now). */
export function isCandidate(identity: Identity, task: TaskCandidates): boolean {
  if (identity.roles.includes('admin')) return true;
  const users = task.candidateUsers ?? [];
  const groups = task.candidateGroups ?? [];
  if (users.length === 0 && groups.length === 0) return true;
  return users.includes(identity.id) || groups.some((group) => identity.groups.includes(group));
}

/**
 * The permission matrix over real HTTP: every role (an API key each), the development token and a
 * caller without credentials, against every operation of /openapi.json. The expected answer of each
 * cell is written out here by hand (not derived from the engine's own role table), so a route or
 * role change that opens something shows as an escalation, and a new route fails until it is
 * classified. A denied request is refused before anything changes (the database is compared).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createApiKey } from '../../engine/http/auth.ts';
import type { Role } from '../../engine/http/identity.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const DEV_TOKEN = 'permissions-dev-token';
type Caller = Role | 'dev' | 'anonymous';
const ROLE_CALLERS: Role[] = ['admin', 'modeler', 'operator', 'reviewer', 'worker', 'viewer'];
const CALLERS: Caller[] = [...ROLE_CALLERS, 'dev', 'anonymous'];

/** Who may use each operation: roles, or `everyone` (no credentials needed), or `webhook` (the process's webhook settings decide). */
type Allowed = Role[] | 'everyone' | 'webhook';
const READ_PROCESSES: Role[] = ['admin', 'modeler', 'operator', 'viewer'];
const READ_INSTANCES: Role[] = ['admin', 'operator', 'viewer'];
const READ_TASKS: Role[] = ['admin', 'operator', 'reviewer', 'viewer'];
const WORK_TASKS: Role[] = ['admin', 'reviewer'];
const OPERATE: Role[] = ['admin', 'operator'];
const JOBS: Role[] = ['admin', 'worker'];
const ADMIN: Role[] = ['admin'];

const EXPECTED: Record<string, Allowed> = {
  'GET /healthz': 'everyone',
  'GET /openapi.json': 'everyone',
  'GET /metrics': ['admin', 'operator', 'viewer'],
  'POST /webhooks/{bpmnProcessId}': 'webhook',
  'POST /api/deployments': ['admin', 'modeler'],
  'GET /api/processes': READ_PROCESSES,
  'GET /api/definitions/{definitionId}/xml': READ_PROCESSES,
  'PUT /api/processes/{bpmnProcessId}/webhook': ADMIN,
  'GET /api/instances': READ_INSTANCES,
  'GET /api/instances/{id}': READ_INSTANCES,
  'POST /api/instances': OPERATE,
  'POST /api/instances/{id}/cancel': OPERATE,
  'POST /api/instances/{id}/modify': OPERATE,
  'POST /api/instances/{id}/migration': OPERATE,
  'GET /api/tasks': READ_TASKS,
  'GET /api/tasks/{id}': READ_TASKS,
  'POST /api/tasks/{id}/complete': WORK_TASKS,
  'POST /api/tasks/{id}/assignment': WORK_TASKS,
  'PATCH /api/tasks/{id}': OPERATE,
  'POST /api/messages': OPERATE,
  'POST /api/signals': OPERATE,
  'GET /api/incidents': READ_INSTANCES,
  'POST /api/incidents/{id}/resolve': OPERATE,
  'POST /api/jobs/activate': JOBS,
  'POST /api/jobs/{id}/complete': JOBS,
  'POST /api/jobs/{id}/fail': JOBS,
  'POST /api/jobs/{id}/error': JOBS,
  'POST /api/jobs/{id}/heartbeat': JOBS,
  'POST /api/api-keys': ADMIN,
  'GET /api/api-keys': ADMIN,
  'GET /api/me': ROLE_CALLERS,
  'POST /api/api-keys/{id}/revoke': ADMIN,
  'GET /api/instances/{id}/evidence': READ_INSTANCES,
  'PUT /api/instances/{id}/legal-hold': ADMIN,
  'DELETE /api/instances/{id}/legal-hold': ADMIN,
  'POST /api/erasures': ADMIN,
  'GET /api/erasures/{id}': ADMIN,
  'POST /api/batch-operations': OPERATE,
  'GET /api/batch-operations': READ_INSTANCES,
  'GET /api/batch-operations/{id}': READ_INSTANCES,
  'GET /api/batch-operations/{id}/items': READ_INSTANCES,
  'GET /api/ui/auth-config': 'everyone',
  'GET /api/ui/statistics': READ_PROCESSES,
  'GET /api/ui/definitions/{definitionId}/statistics': READ_PROCESSES,
  'GET /api/ui/instances/{id}/history': READ_INSTANCES,
  'GET /api/ui/instances/{id}/bot-runs': READ_INSTANCES,
  'GET /api/ui/bot-runs/{id}/{kind}': READ_INSTANCES,
  'GET /api/ui/instances/{id}/decision-evaluations': READ_INSTANCES,
  'GET /api/ui/tasks/{id}/form': READ_TASKS,
  'POST /api/ui/tasks/{id}/claim': WORK_TASKS,
  'POST /api/ui/tasks/{id}/complete': WORK_TASKS,
};

function expectedAllowed(operation: string, caller: Caller): boolean {
  const allowed = EXPECTED[operation]!;
  if (allowed === 'everyone' || allowed === 'webhook') return true;
  if (caller === 'anonymous') return false;
  return caller === 'dev' ? allowed.includes('admin') : allowed.includes(caller);
}

let db: TestDatabase;
let engine: PostgresEngine;
let app: FastifyInstance;
let baseUrl: string;
let operations: string[];
const tokens = new Map<Caller, string>();

before(async () => {
  // Anonymous cells answer 401 many times a second: the failed-authentication limit would turn them into 429.
  process.env.OPERON_AUTH_FAILURE_RATE = '0';
  db = await createTestDatabase();
  engine = createEngine({ db: db.knex });
  app = await buildApp({ engine, db: db.knex, apiToken: DEV_TOKEN, defaultMetrics: false, oidc: null });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  for (const role of ROLE_CALLERS) {
    const { token } = await createApiKey(db.knex, {
      name: `matrix-${role}`,
      roles: [role],
      ...(role === 'worker' ? { taskTypes: ['matrix-type'] } : {}),
    });
    tokens.set(role, token);
  }
  tokens.set('dev', DEV_TOKEN);
  const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { 'x-operon-permission'?: string }>>;
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
});
after(async () => {
  delete process.env.OPERON_AUTH_FAILURE_RATE;
  await app?.close();
  await engine?.close();
  await db?.drop();
});

/** A request for an operation: path parameters filled with ids that do not exist, a body no schema accepts. */
async function send(operation: string, caller: Caller): Promise<{ status: number; code?: string }> {
  const [method, path] = operation.split(' ') as [string, string];
  const url = path.replace(/\{(\w+)\}/g, (_match, name: string) =>
    name === 'kind' ? 'screenshot' : name === 'bpmnProcessId' ? 'matrix-process' : randomUUID(),
  );
  const token = tokens.get(caller);
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
    },
    ...(method === 'GET' ? {} : { body: JSON.stringify({ matrixProbe: true }) }),
  });
  const text = await response.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {}
  return { status: response.status, code };
}

/** What a refused request must not have touched. */
async function fingerprint(): Promise<string> {
  const tables = [
    'process_definitions',
    'process_instances',
    'api_tokens',
    'webhook_configs',
    'messages',
    'user_tasks',
  ];
  const counts = await Promise.all(
    tables.map(async (table) => `${table}=${(await db.knex(table).count('* as n').first())!.n}`),
  );
  const revoked = await db.knex('api_tokens').whereNotNull('revoked_at').count('* as n').first();
  return `${counts.join(' ')} revoked=${revoked!.n}`;
}

describe('permission matrix', () => {
  it('every OpenAPI operation is classified here, and every classified operation exists', () => {
    assert.deepEqual([...operations].sort(), Object.keys(EXPECTED).sort());
  });

  it('every route the server has declares a permission (the cockpit files are public)', () => {
    const routes = app.operonRoutes;
    assert.ok(routes.length >= operations.length);
    const undeclared = routes.filter((route) => !route.permission);
    assert.deepEqual(undeclared, []);
    for (const route of routes.filter((r) => r.url.startsWith('/ui')))
      assert.equal(route.permission, 'public', route.url);
  });

  it('every caller × every operation: refused ones get 401/403 with a code and change nothing, 0 escalations', async () => {
    const before = await fingerprint();
    const escalations: string[] = [];
    const lockedOut: string[] = [];
    let refused = 0;
    let cells = 0;
    // Refused cells first, then the database is compared, then the allowed ones.
    const cellsInOrder = CALLERS.flatMap((caller) => operations.map((operation) => ({ caller, operation }))).sort(
      (a, b) => Number(expectedAllowed(a.operation, a.caller)) - Number(expectedAllowed(b.operation, b.caller)),
    );
    let compared = false;
    for (const { caller, operation } of cellsInOrder) {
      const allowed = expectedAllowed(operation, caller);
      if (allowed && !compared) {
        assert.equal(await fingerprint(), before, 'refused requests changed nothing');
        compared = true;
      }
      const { status, code } = await send(operation, caller);
      cells++;
      const webhook = EXPECTED[operation] === 'webhook';
      if (!allowed) {
        refused++;
        const expectedStatus = caller === 'anonymous' ? 401 : 403;
        const expectedCode = caller === 'anonymous' ? 'OPERON_ERR_UNAUTHORIZED' : 'OPERON_ERR_FORBIDDEN';
        if (status !== expectedStatus || code !== expectedCode)
          escalations.push(`${caller} ${operation}: ${status} ${code ?? ''}`);
      } else if (webhook) {
        // Webhook callers are judged by the process's webhook settings, whoever they are: none here.
        assert.equal(status, 401, `${caller} ${operation}`);
        assert.equal(code, 'OPERON_ERR_WEBHOOK_NOT_CONFIGURED');
      } else if (status === 401 || status === 403) {
        lockedOut.push(`${caller} ${operation}: ${status} ${code ?? ''}`);
      }
    }
    assert.deepEqual(escalations, [], 'escalations');
    assert.deepEqual(lockedOut, [], 'callers refused an operation their role grants');
    assert.equal(cells, CALLERS.length * operations.length);
    assert.ok(refused > 100, `${refused} refused cells`);
  });
});

describe('worker keys take only their task types', () => {
  it('activating another type is 403 naming the type; its own type is served', async () => {
    const activate = (type: string) =>
      fetch(`${baseUrl}/api/jobs/activate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.get('worker')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type, worker: 'w1', maxJobs: 1, requestTimeoutMs: 0 }),
      });
    const other = await activate('payroll');
    assert.equal(other.status, 403);
    const body = (await other.json()) as { error: { code: string; details: { type: string } } };
    assert.equal(body.error.code, 'OPERON_ERR_FORBIDDEN');
    assert.equal(body.error.details.type, 'payroll');
    const own = await activate('matrix-type');
    assert.equal(own.status, 200);
    assert.deepEqual(await own.json(), { jobs: [] });
  });
});

describe('API keys', () => {
  it('are created by an admin, shown once, listed without the key, and refused once revoked', async () => {
    const admin = { authorization: `Bearer ${tokens.get('admin')}`, 'content-type': 'application/json' };
    const created = await fetch(`${baseUrl}/api/api-keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'reporting', roles: ['viewer'] }),
    });
    assert.equal(created.status, 201);
    const { token, key } = (await created.json()) as { token: string; key: { id: string; roles: string[] } };
    assert.deepEqual(key.roles, ['viewer']);
    const listed = (await (await fetch(`${baseUrl}/api/api-keys`, { headers: admin })).json()) as { keys: object[] };
    assert.ok(!JSON.stringify(listed).includes(token), 'the key is never listed');
    const stored = await db.knex('api_tokens').where({ id: key.id }).first('token_hash');
    assert.notEqual(stored.token_hash, token, 'only a hash is stored');

    const read = () => fetch(`${baseUrl}/api/instances`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await read()).status, 200);
    const revoked = await fetch(`${baseUrl}/api/api-keys/${key.id}/revoke`, {
      method: 'POST',
      headers: admin,
      body: '{}',
    });
    assert.equal(revoked.status, 200);
    const after = await read();
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as { error: { code: string } }).error.code, 'OPERON_ERR_UNAUTHORIZED');
  });

  it('a worker key without task types, or an unknown role, is refused with the field', async () => {
    const admin = { authorization: `Bearer ${tokens.get('admin')}`, 'content-type': 'application/json' };
    const worker = await fetch(`${baseUrl}/api/api-keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'w', roles: ['worker'] }),
    });
    assert.equal(worker.status, 400);
    assert.equal(((await worker.json()) as { error: { details: { field: string } } }).error.details.field, 'taskTypes');
    const unknown = await fetch(`${baseUrl}/api/api-keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'x', roles: ['root'] }),
    });
    assert.equal(unknown.status, 400);
  });
});

/**
 * People signed in through OpenID Connect, against a real provider started here (oidc-provider,
 * its discovery document and JWKS over HTTP): access tokens carry roles and groups claims; expired,
 * tampered, wrong-audience and other-issuer tokens are refused with 401 and a reason; candidate
 * groups decide who may complete a task; a four-eyes task refuses the instance's starter and an
 * earlier reviewer; the completer is the signed-in user, never a typed name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import Provider from 'oidc-provider';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const AUDIENCE = 'urn:operon:api';

/** One OAuth client per person: the provider puts these claims into that client's access tokens. */
const PEOPLE: Record<string, { roles: string[]; groups: string[] }> = {
  olga: { roles: ['operator', 'reviewer'], groups: ['credit'] },
  alice: { roles: ['reviewer'], groups: ['credit'] },
  bob: { roles: ['reviewer'], groups: ['credit', 'risk'] },
  eve: { roles: ['reviewer'], groups: ['sales'] },
  vic: { roles: ['viewer'], groups: [] },
  short: { roles: ['viewer'], groups: [] },
};

const FOUR_EYES_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Defs_FourEyes" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="loan-four-eyes" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Check" name="Check">
      <bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="credit" /></bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="Approve" name="Approve">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition candidateGroups="credit" />
        <zeebe:properties><zeebe:property name="operon:fourEyes" value="true" /></zeebe:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Check" />
    <bpmn:sequenceFlow id="F2" sourceRef="Check" targetRef="Approve" />
    <bpmn:sequenceFlow id="F3" sourceRef="Approve" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>`;

interface RunningProvider {
  issuer: string;
  server: Server;
}

/** A real OpenID provider on a free loopback port, issuing JWT access tokens by client credentials. */
async function startProvider(): Promise<RunningProvider> {
  const server = await new Promise<Server>((resolve) => {
    const listening = createServer();
    listening.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: Object.keys(PEOPLE).map((name) => ({
      client_id: name,
      client_secret: `${name}-secret`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    })),
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          audience: resource,
          scope: 'api',
          accessTokenFormat: 'jwt',
        }),
        useGrantedResource: () => true,
      },
    },
    ttl: {
      ClientCredentials: (_ctx: unknown, _token: unknown, client: { clientId: string }) =>
        client.clientId === 'short' ? 1 : 600,
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId?: string }) => {
      const person = PEOPLE[token.clientId ?? ''];
      return person ? { preferred_username: token.clientId, roles: person.roles, groups: person.groups } : {};
    },
  });
  server.on('request', provider.callback());
  return { issuer, server };
}

async function accessToken(provider: RunningProvider, client: string, resource = AUDIENCE): Promise<string> {
  const response = await fetch(`${provider.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  assert.ok(body.access_token, JSON.stringify(body));
  return body.access_token;
}

let db: TestDatabase;
let engine: PostgresEngine;
let app: FastifyInstance;
let baseUrl: string;
let idp: RunningProvider;
let otherIdp: RunningProvider;
const tokens: Record<string, string> = {};

before(async () => {
  process.env.OPERON_AUTH_FAILURE_RATE = '0';
  idp = await startProvider();
  otherIdp = await startProvider();
  db = await createTestDatabase();
  engine = createEngine({ db: db.knex });
  app = await buildApp({
    engine,
    db: db.knex,
    apiToken: 'oidc-dev-token',
    defaultMetrics: false,
    oidc: {
      issuer: idp.issuer,
      audience: AUDIENCE,
      rolesClaim: 'roles',
      groupsClaim: 'groups',
      userClaim: 'preferred_username',
      scopes: 'openid',
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await engine.deploy([{ name: 'four-eyes.bpmn', xml: FOUR_EYES_BPMN }]);
  for (const name of Object.keys(PEOPLE)) tokens[name] = await accessToken(idp, name);
});
after(async () => {
  delete process.env.OPERON_AUTH_FAILURE_RATE;
  await app?.close();
  await engine?.close();
  await db?.drop();
  idp?.server.close();
  otherIdp?.server.close();
});

async function call(
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

function refusal(result: { status: number; body: any }): string {
  return `${result.status} ${result.body.error?.code} ${result.body.error?.details?.reason ?? result.body.error?.details?.rule ?? ''}`.trim();
}

describe('access tokens from the identity provider', () => {
  it('a valid token signs the user in with the roles of its claims', async () => {
    assert.equal((await call(tokens.vic!, 'GET', '/api/instances')).status, 200);
    const denied = await call(tokens.vic!, 'POST', '/api/instances', { bpmnProcessId: 'loan-four-eyes' });
    assert.equal(refusal(denied), '403 OPERON_ERR_FORBIDDEN');
    assert.equal((await db.knex('process_instances').count('* as n').first())!.n, '0', 'nothing started');
  });

  it('a token whose payload was changed after signing is refused: signature', async () => {
    const [header, payload, signature] = tokens.vic!.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.roles = ['admin'];
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    assert.equal(refusal(await call(forged, 'GET', '/api/api-keys')), '401 OPERON_ERR_UNAUTHORIZED signature');
  });

  it('a token for another audience is refused: audience', async () => {
    const token = await accessToken(idp, 'vic', 'urn:some-other-api');
    assert.equal(refusal(await call(token, 'GET', '/api/instances')), '401 OPERON_ERR_UNAUTHORIZED audience');
  });

  it('a token of another issuer is refused', async () => {
    const token = await accessToken(otherIdp, 'vic');
    const result = await call(token, 'GET', '/api/instances');
    assert.equal(result.status, 401);
    assert.equal(result.body.error.code, 'OPERON_ERR_UNAUTHORIZED');
    assert.ok(['issuer', 'unknown-key'].includes(result.body.error.details.reason), refusal(result));
  });

  it('an expired token is refused: expired', async () => {
    const token = await accessToken(idp, 'short');
    let result = await call(token, 'GET', '/api/instances');
    // Valid for one second: asked again until the clock passes its exp.
    for (let tries = 0; result.status === 200 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = await call(token, 'GET', '/api/instances');
    }
    assert.equal(refusal(result), '401 OPERON_ERR_UNAUTHORIZED expired');
  });

  it('an API key still works beside OIDC (machines)', async () => {
    assert.equal((await call('oidc-dev-token', 'GET', '/api/instances')).status, 200);
  });
});

describe('candidate groups and four-eyes', () => {
  async function openTask(instanceId: string, elementId: string): Promise<string> {
    const [task] = await engine.listUserTasks({ instanceId, state: 'open' });
    assert.equal(task?.elementId, elementId);
    return task.id;
  }

  it('the starter and an earlier reviewer cannot approve; a second credit reviewer can, and is recorded', async () => {
    const started = await call(tokens.olga!, 'POST', '/api/instances', { bpmnProcessId: 'loan-four-eyes' });
    assert.equal(started.status, 201);
    const { instanceId } = started.body as { instanceId: string };
    const instance = await db.knex('process_instances').where({ id: instanceId }).first('started_by');
    assert.equal(instance.started_by, 'olga');

    const check = await openTask(instanceId, 'Check');
    // Eve is a reviewer but not in the credit group: she does not see the task and cannot complete it.
    const eveInbox = await call(tokens.eve!, 'GET', '/api/tasks?state=open');
    assert.ok(!eveInbox.body.tasks.some((task: { id: string }) => task.id === check));
    assert.equal(refusal(await call(tokens.eve!, 'GET', `/api/tasks/${check}`)), '403 OPERON_ERR_FORBIDDEN');
    assert.equal(
      refusal(await call(tokens.eve!, 'POST', `/api/tasks/${check}/complete`, {})),
      '403 OPERON_ERR_FORBIDDEN',
    );
    // Alice may not complete in someone else's name.
    assert.equal(
      refusal(await call(tokens.alice!, 'POST', `/api/tasks/${check}/complete`, { completedBy: 'bob' })),
      '403 OPERON_ERR_FORBIDDEN',
    );
    const aliceInbox = await call(tokens.alice!, 'GET', '/api/tasks?state=open');
    assert.ok(aliceInbox.body.tasks.some((task: { id: string }) => task.id === check));
    const checked = await call(tokens.alice!, 'POST', `/api/tasks/${check}/complete`, {});
    assert.equal(checked.status, 200, JSON.stringify(checked.body));

    const approve = await openTask(instanceId, 'Approve');
    assert.equal(
      refusal(await call(tokens.olga!, 'POST', `/api/tasks/${approve}/complete`, {})),
      '403 OPERON_ERR_FOUR_EYES starter',
    );
    assert.equal(
      refusal(await call(tokens.alice!, 'POST', `/api/tasks/${approve}/complete`, {})),
      '403 OPERON_ERR_FOUR_EYES earlier-reviewer',
    );
    assert.equal(await openTask(instanceId, 'Approve'), approve, 'the task stays open');

    const approved = await call(tokens.bob!, 'POST', `/api/tasks/${approve}/complete`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const rows = await db.knex('user_tasks').where({ process_instance_id: instanceId }).orderBy('created_at');
    assert.deepEqual(
      rows.map((row: { element_id: string; completed_by: string }) => [row.element_id, row.completed_by]),
      [
        ['Check', 'alice'],
        ['Approve', 'bob'],
      ],
    );
    assert.equal((await engine.getInstance(instanceId))?.state, 'completed');
  });

  it('claiming: only a candidate claims, only for themselves; then only the holder completes', async () => {
    const { instanceId } = (await call(tokens.olga!, 'POST', '/api/instances', { bpmnProcessId: 'loan-four-eyes' }))
      .body as { instanceId: string };
    const check = await openTask(instanceId, 'Check');
    assert.equal(
      refusal(await call(tokens.eve!, 'POST', `/api/ui/tasks/${check}/claim`, {})),
      '403 OPERON_ERR_FORBIDDEN',
    );
    assert.equal(
      refusal(await call(tokens.alice!, 'POST', `/api/ui/tasks/${check}/claim`, { assignee: 'bob' })),
      '403 OPERON_ERR_FORBIDDEN',
    );
    const claimed = await call(tokens.alice!, 'POST', `/api/ui/tasks/${check}/claim`, {});
    assert.equal(claimed.status, 200);
    assert.equal(claimed.body.assignee, 'alice');
    assert.equal(
      refusal(await call(tokens.bob!, 'POST', `/api/ui/tasks/${check}/complete`, {})),
      '403 OPERON_ERR_FORBIDDEN',
    );
    const done = await call(tokens.alice!, 'POST', `/api/ui/tasks/${check}/complete`, { variables: { ok: true } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal((await db.knex('user_tasks').where({ id: check }).first('completed_by')).completed_by, 'alice');
  });
});

/**
 * Every route through fastify.inject against the real engine on a real database, with the error
 * codes each route can answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANNELS } from '../../engine/store/notify.ts';
import { deployFixtures, eventually, fixture, startTestApi, type TestApi } from './support/api.ts';

let api: TestApi;
before(async () => {
  api = await startTestApi({ bodyLimit: 64 * 1024 });
});
after(async () => {
  await api?.close();
});

function json(response: { body: string }): any {
  return JSON.parse(response.body);
}

function boundary(files: { name: string; content: string }[]): { payload: string; contentType: string } {
  const mark = '----operon-test-boundary';
  const parts = files.map(
    (f) =>
      `--${mark}\r\nContent-Disposition: form-data; name="file"; filename="${f.name}"\r\nContent-Type: application/xml\r\n\r\n${f.content}\r\n`,
  );
  return { payload: `${parts.join('')}--${mark}--\r\n`, contentType: `multipart/form-data; boundary=${mark}` };
}

async function countRows(table: string): Promise<number> {
  const [row] = await api.db.knex(table).count<{ count: string }[]>('* as count');
  return Number(row!.count);
}

describe('auth', () => {
  test('/api routes and /metrics need a valid bearer token; health and openapi do not', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${api.token}` }]) {
      const response = await api.app.inject({ method: 'GET', url: '/api/processes', headers });
      assert.equal(response.statusCode, 401);
      assert.equal(json(response).error.code, 'OPERON_ERR_UNAUTHORIZED');
    }
    assert.equal((await api.app.inject({ method: 'GET', url: '/api/processes', headers: api.auth })).statusCode, 200);
    assert.equal((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await api.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200);
    assert.equal((await api.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    assert.equal((await api.app.inject({ method: 'GET', url: '/metrics', headers: api.auth })).statusCode, 200);
  });

  test('the token is stored only as a hash', async () => {
    const rows = await api.db.knex('api_tokens').select('token_hash');
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0].token_hash, api.token);
    assert.match(rows[0].token_hash, /^[0-9a-f]{64}$/);
  });
});

describe('deployments', () => {
  test('raw XML -> 201 with processes and warnings', async () => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: fixture('http-order.bpmn'),
    });
    assert.equal(response.statusCode, 201, response.body);
    const body = json(response);
    assert.equal(body.processes[0].bpmnProcessId, 'http-order');
    assert.equal(body.processes[0].version, 1);
    assert.ok(body.warnings.some((w: string) => w.includes('http-test-pack')));
  });

  test('multipart with several files, text/xml too', async () => {
    const { payload, contentType } = boundary([
      { name: 'http-ping.bpmn', content: fixture('http-ping.bpmn') },
      { name: 'http-wait.bpmn', content: fixture('http-wait.bpmn') },
    ]);
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': contentType },
      payload,
    });
    assert.equal(response.statusCode, 201, response.body);
    assert.deepEqual(
      json(response)
        .processes.map((p: { bpmnProcessId: string }) => p.bpmnProcessId)
        .sort(),
      ['http-ping', 'http-wait'],
    );
    const again = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'text/xml' },
      payload: fixture('http-ping.bpmn'),
    });
    assert.equal(again.statusCode, 201);
    assert.equal(json(again).processes[0].created, false);
  });

  test('bad input: malformed XML 400, wrong content type 415, oversize 413, empty 400 — nothing deployed', async () => {
    const before = await countRows('process_definitions');
    const malformed = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: '<bpmn:definitions',
    });
    assert.equal(malformed.statusCode, 400);
    assert.match(json(malformed).error.code, /^OPERON_ERR_BPMN_/);

    const wrongType = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/json' },
      payload: '{"xml":"x"}',
    });
    assert.equal(wrongType.statusCode, 415);
    assert.equal(json(wrongType).error.code, 'OPERON_ERR_UNSUPPORTED_MEDIA_TYPE');

    const huge = fixture('http-ping.bpmn').replace(
      '</bpmn:definitions>',
      `<!-- ${'x'.repeat(70 * 1024)} --></bpmn:definitions>`,
    );
    const tooLarge = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: huge,
    });
    assert.equal(tooLarge.statusCode, 413);
    assert.equal(json(tooLarge).error.code, 'OPERON_ERR_PAYLOAD_TOO_LARGE');

    const { payload, contentType } = boundary([{ name: 'big.bpmn', content: huge }]);
    const tooLargeMultipart = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': contentType },
      payload,
    });
    assert.equal(tooLargeMultipart.statusCode, 413);

    const empty = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: '',
    });
    assert.equal(empty.statusCode, 400);
    assert.equal(json(empty).error.code, 'OPERON_ERR_VALIDATION');

    const invalidOneOfTwo = boundary([
      { name: 'fine.bpmn', content: fixture('http-ping.bpmn').replaceAll('http-ping', 'http-fine') },
      { name: 'broken.bpmn', content: '<nope/>' },
    ]);
    const partial = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': invalidOneOfTwo.contentType },
      payload: invalidOneOfTwo.payload,
    });
    assert.equal(partial.statusCode, 400);
    assert.equal(await countRows('process_definitions'), before);
  });

  test('GET /api/processes lists versions with their webhook mode', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/api/processes', headers: api.auth });
    assert.equal(response.statusCode, 200);
    const ping = json(response).processes.find((p: { bpmnProcessId: string }) => p.bpmnProcessId === 'http-ping');
    assert.equal(ping.webhook, 'none');
    assert.equal(ping.version, 1);
    const xml = await api.app.inject({
      method: 'GET',
      url: `/api/definitions/${ping.definitionId}/xml`,
      headers: api.auth,
    });
    assert.equal(xml.statusCode, 200);
    assert.match(xml.headers['content-type'] as string, /application\/xml/);
    assert.equal(xml.body, fixture('http-ping.bpmn'));
    assert.equal(
      (
        await api.app.inject({
          method: 'GET',
          url: '/api/definitions/00000000-0000-4000-8000-000000000000/xml',
          headers: api.auth,
        })
      ).statusCode,
      404,
    );
  });
});

describe('instances', () => {
  test('start, get, list with filters, cancel', async () => {
    await deployFixtures(api, 'http-wait.bpmn');
    const started = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: api.auth,
      payload: { bpmnProcessId: 'http-wait', variables: { amount: 12 }, businessKey: 'order-77' },
    });
    assert.equal(started.statusCode, 201, started.body);
    const { instanceId } = json(started);

    const got = await api.app.inject({ method: 'GET', url: `/api/instances/${instanceId}`, headers: api.auth });
    assert.equal(got.statusCode, 200);
    const instance = json(got);
    assert.equal(instance.state, 'active');
    assert.equal(instance.variables.amount, 12);
    assert.equal(instance.businessKey, 'order-77');
    assert.ok(
      instance.elements.some(
        (e: { elementId: string; state: string }) => e.elementId === 'review' && e.state === 'active',
      ),
    );
    assert.deepEqual(instance.incidents, []);
    assert.deepEqual(instance.decisions, []);

    const byKey = json(
      await api.app.inject({
        method: 'GET',
        url: '/api/instances?businessKey=order-77&state=active&process=http-wait',
        headers: api.auth,
      }),
    );
    assert.deepEqual(
      byKey.instances.map((i: { instanceId: string }) => i.instanceId),
      [instanceId],
    );
    const future = encodeURIComponent(new Date(Date.now() + 3600_000).toISOString());
    assert.deepEqual(
      json(await api.app.inject({ method: 'GET', url: `/api/instances?startedAfter=${future}`, headers: api.auth }))
        .instances,
      [],
    );
    const badFilter = await api.app.inject({ method: 'GET', url: '/api/instances?state=sleeping', headers: api.auth });
    assert.equal(badFilter.statusCode, 400);
    assert.equal(json(badFilter).error.details.field, 'query.state');

    const cancelled = await api.app.inject({
      method: 'POST',
      url: `/api/instances/${instanceId}/cancel`,
      headers: api.auth,
    });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(json(cancelled).state, 'terminated');
    const again = await api.app.inject({
      method: 'POST',
      url: `/api/instances/${instanceId}/cancel`,
      headers: api.auth,
    });
    assert.equal(again.statusCode, 409);
  });

  test('bad input: unknown process 404, unknown instance 404, bad id 400, malformed JSON 400, schema 400 — no instance', async () => {
    const before = await countRows('process_instances');
    const unknown = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: api.auth,
      payload: { bpmnProcessId: 'no-such-process' },
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal(json(unknown).error.code, 'OPERON_ERR_NOT_FOUND');
    const missing = await api.app.inject({
      method: 'GET',
      url: '/api/instances/00000000-0000-4000-8000-000000000000',
      headers: api.auth,
    });
    assert.equal(missing.statusCode, 404);
    const badId = await api.app.inject({ method: 'GET', url: '/api/instances/42', headers: api.auth });
    assert.equal(badId.statusCode, 400);
    assert.equal(json(badId).error.code, 'OPERON_ERR_VALIDATION');
    const malformed = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: { ...api.auth, 'content-type': 'application/json' },
      payload: '{"bpmnProcessId": "http-wait",',
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(json(malformed).error.code, 'OPERON_ERR_MALFORMED_JSON');
    const proto = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: { ...api.auth, 'content-type': 'application/json' },
      payload: '{"bpmnProcessId": "http-wait", "variables": {"__proto__": {"admin": true}}}',
    });
    assert.equal(proto.statusCode, 400);
    const schema = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: api.auth,
      payload: { bpmnProcessId: 'http-wait', variables: [1, 2] },
    });
    assert.equal(schema.statusCode, 400);
    assert.equal(json(schema).error.details.field, 'body.variables');
    const extra = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: api.auth,
      payload: { bpmnProcessId: 'http-wait', surprise: 1 },
    });
    assert.equal(extra.statusCode, 400);
    const wrongType = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: { ...api.auth, 'content-type': 'text/plain' },
      payload: 'bpmnProcessId=http-wait',
    });
    assert.equal(wrongType.statusCode, 415);
    assert.equal(await countRows('process_instances'), before);
  });
});

describe('user tasks, messages, jobs and incidents', () => {
  test('an order runs through an external job, a user task and a message', async () => {
    await deployFixtures(api, 'http-order.bpmn');
    const { instanceId } = json(
      await api.app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: api.auth,
        payload: { bpmnProcessId: 'http-order', variables: { orderId: 'A-1' } },
      }),
    );

    const activated = await api.app.inject({
      method: 'POST',
      url: '/api/jobs/activate',
      headers: api.auth,
      payload: { type: 'http-test-pack', worker: 'packer-1', maxJobs: 5, lockMs: 30_000, requestTimeoutMs: 5_000 },
    });
    assert.equal(activated.statusCode, 200, activated.body);
    const [job] = json(activated).jobs;
    assert.equal(job.instanceId, instanceId);
    assert.equal(job.headers.station, 'north');
    assert.equal(job.variables.orderId, 'A-1');

    const heartbeat = await api.app.inject({
      method: 'POST',
      url: `/api/jobs/${job.id}/heartbeat`,
      headers: api.auth,
      payload: { worker: 'packer-1', attempt: job.attempt, lockMs: 60_000 },
    });
    assert.equal(heartbeat.statusCode, 200, heartbeat.body);
    assert.ok(Date.parse(json(heartbeat).deadline) > Date.parse(job.deadline));

    const fenced = await api.app.inject({
      method: 'POST',
      url: `/api/jobs/${job.id}/complete`,
      headers: api.auth,
      payload: { worker: 'impostor', attempt: job.attempt, variables: { parcels: 9 } },
    });
    assert.equal(fenced.statusCode, 409);
    assert.equal(json(fenced).error.code, 'OPERON_ERR_LEASE_LOST');
    const staleAttempt = await api.app.inject({
      method: 'POST',
      url: `/api/jobs/${job.id}/complete`,
      headers: api.auth,
      payload: { worker: 'packer-1', attempt: job.attempt + 1 },
    });
    assert.equal(staleAttempt.statusCode, 409);

    const completed = await api.app.inject({
      method: 'POST',
      url: `/api/jobs/${job.id}/complete`,
      headers: api.auth,
      payload: { worker: 'packer-1', attempt: job.attempt, variables: { parcels: 2 } },
    });
    assert.equal(completed.statusCode, 200, completed.body);

    const task = await eventually(async () => {
      const tasks = json(
        await api.app.inject({
          method: 'GET',
          url: `/api/tasks?state=open&instanceId=${instanceId}`,
          headers: api.auth,
        }),
      ).tasks;
      return tasks[0];
    });
    assert.equal(task.elementId, 'approve');
    const done = await api.app.inject({
      method: 'POST',
      url: `/api/tasks/${task.id}/complete`,
      headers: api.auth,
      payload: { variables: { approved: true }, completedBy: 'mia' },
    });
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(json(done).state, 'completed');
    const twice = await api.app.inject({
      method: 'POST',
      url: `/api/tasks/${task.id}/complete`,
      headers: api.auth,
      payload: {},
    });
    assert.equal(twice.statusCode, 409);

    const published = await api.app.inject({
      method: 'POST',
      url: '/api/messages',
      headers: api.auth,
      payload: { name: 'payment-received', correlationKey: 'A-1', variables: { paidAmount: 30 } },
    });
    assert.equal(published.statusCode, 200, published.body);
    assert.deepEqual(json(published), { correlated: true, instanceId });

    const instance = json(
      await api.app.inject({ method: 'GET', url: `/api/instances/${instanceId}`, headers: api.auth }),
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(
      {
        parcels: instance.variables.parcels,
        approved: instance.variables.approved,
        paidAmount: instance.variables.paidAmount,
      },
      { parcels: 2, approved: true, paidAmount: 30 },
    );

    const unmatched = await api.app.inject({
      method: 'POST',
      url: '/api/messages',
      headers: api.auth,
      payload: { name: 'payment-received', correlationKey: 'nobody' },
    });
    assert.deepEqual(json(unmatched), { correlated: false });
    const badMessage = await api.app.inject({
      method: 'POST',
      url: '/api/messages',
      headers: api.auth,
      payload: { correlationKey: 'x' },
    });
    assert.equal(badMessage.statusCode, 400);
  });

  test('a BPMN error from an external worker takes the error boundary', async () => {
    const { instanceId } = json(
      await api.app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: api.auth,
        payload: { bpmnProcessId: 'http-order', variables: { orderId: 'B-2' } },
      }),
    );
    const [job] = json(
      await api.app.inject({
        method: 'POST',
        url: '/api/jobs/activate',
        headers: api.auth,
        payload: { type: 'http-test-pack', worker: 'packer-2', maxJobs: 1, lockMs: 30_000 },
      }),
    ).jobs;
    assert.equal(job.instanceId, instanceId);
    const thrown = await api.app.inject({
      method: 'POST',
      url: `/api/jobs/${job.id}/error`,
      headers: api.auth,
      payload: { worker: 'packer-2', attempt: job.attempt, errorCode: 'OUT_OF_STOCK', errorMessage: 'no boxes' },
    });
    assert.equal(thrown.statusCode, 200, thrown.body);
    const instance = json(
      await api.app.inject({ method: 'GET', url: `/api/instances/${instanceId}`, headers: api.auth }),
    );
    assert.equal(instance.state, 'completed');
    assert.ok(instance.elements.some((e: { elementId: string }) => e.elementId === 'cancelled'));
  });

  test('a failed job without retries opens an incident; resolving it retries the job', async () => {
    const { instanceId } = json(
      await api.app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: api.auth,
        payload: { bpmnProcessId: 'http-order', variables: { orderId: 'C-3' } },
      }),
    );
    const [job] = json(
      await api.app.inject({
        method: 'POST',
        url: '/api/jobs/activate',
        headers: api.auth,
        payload: { type: 'http-test-pack', worker: 'packer-3', maxJobs: 1, lockMs: 30_000 },
      }),
    ).jobs;
    const failed = await api.app.inject({
      method: 'POST',
      url: `/api/jobs/${job.id}/fail`,
      headers: api.auth,
      payload: { worker: 'packer-3', attempt: job.attempt, errorMessage: 'printer jammed', retries: 0 },
    });
    assert.equal(failed.statusCode, 200, failed.body);

    const incidents = json(
      await api.app.inject({
        method: 'GET',
        url: `/api/incidents?state=open&instanceId=${instanceId}`,
        headers: api.auth,
      }),
    ).incidents;
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0].elementId, 'pack');
    assert.match(incidents[0].message, /printer jammed/);

    const metrics = await api.app.inject({ method: 'GET', url: '/metrics', headers: api.auth });
    assert.match(metrics.body, /operon_open_incidents [1-9]/);

    const resolved = await api.app.inject({
      method: 'POST',
      url: `/api/incidents/${incidents[0].id}/resolve`,
      headers: api.auth,
    });
    assert.equal(resolved.statusCode, 200, resolved.body);
    assert.deepEqual(json(resolved), { incidentId: incidents[0].id, state: 'resolved' });
    const [retried] = json(
      await api.app.inject({
        method: 'POST',
        url: '/api/jobs/activate',
        headers: api.auth,
        payload: { type: 'http-test-pack', worker: 'packer-3', maxJobs: 1, lockMs: 30_000, requestTimeoutMs: 5_000 },
      }),
    ).jobs;
    assert.equal(retried.id, job.id);
    assert.ok(retried.attempt > job.attempt);
    const missing = await api.app.inject({
      method: 'POST',
      url: '/api/incidents/00000000-0000-4000-8000-000000000000/resolve',
      headers: api.auth,
    });
    assert.equal(missing.statusCode, 404);
  });

  test('a waiting activate call receives a job created while it waits', async () => {
    const waiting = api.app.inject({
      method: 'POST',
      url: '/api/jobs/activate',
      headers: api.auth,
      payload: { type: 'http-test-pack', worker: 'poller', maxJobs: 1, lockMs: 30_000, requestTimeoutMs: 30_000 },
    });
    // The call found nothing and waits on the jobs channel.
    const { notifications } = api.engine;
    await eventually(async () => (notifications.listenerCount(CHANNELS.jobs) > 0 || undefined) && true);
    const { instanceId } = json(
      await api.app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: api.auth,
        payload: { bpmnProcessId: 'http-order', variables: { orderId: 'D-4' } },
      }),
    );
    const response = await waiting;
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      json(response).jobs.map((j: { instanceId: string }) => j.instanceId),
      [instanceId],
    );
  });

  test('activate long-polls and returns empty when nothing arrives; bad bodies are 400', async () => {
    const empty = await api.app.inject({
      method: 'POST',
      url: '/api/jobs/activate',
      headers: api.auth,
      payload: { type: 'nobody-has-this', worker: 'w', maxJobs: 1, lockMs: 5_000, requestTimeoutMs: 200 },
    });
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(json(empty), { jobs: [] });
    const bad = await api.app.inject({
      method: 'POST',
      url: '/api/jobs/activate',
      headers: api.auth,
      payload: { type: 'x', worker: 'w', maxJobs: 0 },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(json(bad).error.details.field, 'body.maxJobs');
    const noLease = await api.app.inject({
      method: 'POST',
      url: '/api/jobs/00000000-0000-4000-8000-000000000000/complete',
      headers: api.auth,
      payload: { variables: {} },
    });
    assert.equal(noLease.statusCode, 400);
    const unknownJob = await api.app.inject({
      method: 'POST',
      url: '/api/jobs/00000000-0000-4000-8000-000000000000/complete',
      headers: api.auth,
      payload: { worker: 'w', attempt: 1 },
    });
    assert.equal(unknownJob.statusCode, 404);
  });
});

describe('system', () => {
  test('openapi.json describes every route from the validating schemas', async () => {
    const doc = json(await api.app.inject({ method: 'GET', url: '/openapi.json' }));
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [
      '/api/deployments',
      '/api/processes',
      '/api/processes/{bpmnProcessId}/webhook',
      '/webhooks/{bpmnProcessId}',
      '/api/instances',
      '/api/instances/{id}',
      '/api/instances/{id}/cancel',
      '/api/tasks',
      '/api/tasks/{id}/complete',
      '/api/messages',
      '/api/incidents',
      '/api/incidents/{id}/resolve',
      '/api/jobs/activate',
      '/api/jobs/{id}/complete',
      '/api/jobs/{id}/fail',
      '/api/jobs/{id}/error',
      '/api/jobs/{id}/heartbeat',
      '/metrics',
      '/healthz',
    ]) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    const activate = doc.paths['/api/jobs/activate'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(activate.required.sort(), ['type', 'worker']);
    assert.equal(activate.properties.maxJobs.maximum, 100);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      assert.match(ref, /^#\/components\/schemas\//);
      assert.ok(doc.components.schemas[ref.split('/').pop()!], `unresolved ${ref}`);
    }
    assert.equal(doc.paths['/api/instances/{id}'].get.parameters[0].in, 'path');
    assert.deepEqual(doc.paths['/webhooks/{bpmnProcessId}'].post.security, []);
  });

  test('metrics and unknown routes', async () => {
    const metrics = await api.app.inject({ method: 'GET', url: '/metrics', headers: api.auth });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers['content-type'] as string, /text\/plain/);
    assert.match(metrics.body, /operon_instances_started_total\{bpmn_process_id="http-order"\} [1-9]/);
    assert.match(metrics.body, /operon_instances_completed_total\{bpmn_process_id="http-order"\} [1-9]/);
    assert.match(metrics.body, /operon_job_latency_seconds_count\{type="http-test-pack",outcome="completed"\} 1/);
    const missing = await api.app.inject({ method: 'GET', url: '/api/nothing-here', headers: api.auth });
    assert.equal(missing.statusCode, 404);
    assert.equal(json(missing).error.code, 'OPERON_ERR_NOT_FOUND');
  });
});

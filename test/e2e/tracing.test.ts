/**
 * Traces and metrics of whole instances, through the real HTTP API on a real port: the shipped
 * loan process started by its webhook with a caller's `traceparent` (real bots in Chromium against
 * the demo applications, the real ONNX loan model), and a small process with an `http` task and a
 * job for an external worker. Spans go over OTLP/HTTP from the real SDK exporter to an OTLP
 * receiver started here (test/support/otlp-receiver.ts); nothing of the tracer is mocked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { waitFor } from '../engine/support/harness.ts';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { startTracing, type Tracing } from '../../engine/telemetry/setup.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import { shippedBotNode } from '../../processes/demo/nodes.ts';
import type { NodeRegistry } from '../../engine/nodes/registry.ts';
import type { ActivatedJob, InstanceView } from '../../engine/api.ts';
import { BORDERLINE_APPLICANT } from '../support/applicants.ts';
import { SAMPLE_APPLICATION } from '../../engine/cli/stack.ts';

const TOKEN = 'tracing-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const BOUND_MS = 240_000;
/** How often a wait for a bot-driven instance reads it again (each read is an API call): test/e2e/processes.test.ts. */
const POLL_MS = 400;
const KIND = { internal: 1, server: 2, client: 3, consumer: 5 };

let db: TestDatabase;
let receiver: OtlpReceiver;
let tracing: Tracing;
let demoApps: { baseUrl: string; close(): Promise<void> };
let nodes: NodeRegistry;
let engine: PostgresEngine;
let app: FastifyInstance;
let base: string;
/** A service the `http` task calls: it keeps the headers of each request. */
let service: Server;
let serviceUrl: string;
const serviceCalls: IncomingHttpHeaders[] = [];

const SERVICES_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://operon.test">
  <bpmn:process id="traced-services" isExecutable="true">
    <bpmn:startEvent id="Start" />
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="CallService" />
    <bpmn:serviceTask id="CallService">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="http" />
        <zeebe:ioMapping><zeebe:input source="=serviceUrl" target="url" /></zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="CallService" targetRef="ExternalWork" />
    <bpmn:serviceTask id="ExternalWork">
      <bpmn:extensionElements><zeebe:taskDefinition type="tracing-external" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="ExternalWork" targetRef="End" />
    <bpmn:endEvent id="End" />
  </bpmn:process>
</bpmn:definitions>`;

before(async () => {
  receiver = await startOtlpReceiver();
  const started = await startTracing({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'operon-tracing-test' },
    scheduleDelayMs: 200,
  });
  assert.ok(started, 'an endpoint is configured: tracing starts');
  tracing = started;
  service = createServer((request, response) => {
    serviceCalls.push(request.headers);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  const servicePort = (service.address() as { port: number }).port;
  serviceUrl = `http://127.0.0.1:${servicePort}/hook`;

  db = await createTestDatabase({ poolMax: 10 });
  const { startDemoApps } = await import('../../processes/demo-apps/index.ts');
  demoApps = await startDemoApps({ port: 0 });
  nodes = await createNodeRegistry({
    decision: true,
    http: { allow: [`127.0.0.1:${servicePort}`] },
    extra: [await shippedBotNode({ baseUrl: demoApps.baseUrl })],
  });
  engine = createEngine({ db: db.knex, nodes, worker: { concurrency: 6, pollIntervalMs: 100, lockMs: 60_000 } });
  app = await buildApp({ engine, db: db.knex, apiToken: TOKEN, defaultMetrics: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const dmn = await readFile(fileURLToPath(new URL('../../processes/loan-hard-limits.dmn', import.meta.url)), 'utf8');
  const loan = await readFile(fileURLToPath(new URL('../../processes/loan-approval.bpmn', import.meta.url)), 'utf8');
  for (const xml of [dmn, loan, SERVICES_BPMN]) {
    const deployed = await call('POST', '/api/deployments', xml, { 'content-type': 'application/xml' });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
  }
  for (const processId of ['loan-approval', 'traced-services']) {
    const webhook = await call('PUT', `/api/processes/${processId}/webhook`, { open: true });
    assert.equal(webhook.status, 200, JSON.stringify(webhook.body));
  }
});

after(async () => {
  await app?.close();
  await engine?.close();
  await nodes?.close();
  await demoApps?.close();
  await tracing?.shutdown();
  await receiver?.close();
  await new Promise((resolve) => service?.close(resolve));
  await db?.drop();
});

/** One request to the API over HTTP; a 503 (the database probe on a loaded machine) is asked again. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: answers of several shapes, checked by each test
): Promise<{ status: number; body: any; text: string }> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...auth,
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 503 || attempt >= 120) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: response.status, body: parsed, text };
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function ended(id: string): Promise<InstanceView> {
  return waitFor(
    async () => {
      const { body: view } = await call('GET', `/api/instances/${id}`);
      if (view.incidents.length > 0)
        throw new Error(`instance ${id} has an incident: ${JSON.stringify(view.incidents)}`);
      return view.state === 'active' ? undefined : (view as InstanceView);
    },
    BOUND_MS,
    `instance ${id} to end`,
    POLL_MS,
  );
}

/** The spans of a trace once `ready` holds for them (the exporter sends in batches). */
async function spansOf(traceId: string, ready: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  return waitFor(
    async () => {
      await tracing.flush();
      const spans = receiver.spans.filter((span) => span.traceId === traceId);
      return ready(spans) ? spans : undefined;
    },
    60_000,
    `the spans of trace ${traceId}`,
  );
}

function one(spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(predicate);
  assert.equal(found.length, 1, `${what}: ${found.length} spans in ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
}

function parentOf(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan | undefined {
  return spans.find((candidate) => candidate.spanId === span.parentSpanId);
}

const strongApplication = { ...SAMPLE_APPLICATION, applicationId: 'APP-TRACE-1' };

describe('tracing and metrics', { concurrency: true }, () => {
  it('a loan started by webhook is one trace, continued from the caller, through steps, jobs, bots and the decision', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const started = await call('POST', '/webhooks/loan-approval', strongApplication, {
      traceparent: `00-${traceId}-${callerSpanId}-01`,
      tracestate: 'vendor=caller',
    });
    assert.equal(started.status, 202, started.text);
    const instanceId = started.body.instanceId as string;
    const view = await ended(instanceId);
    assert.equal(view.state, 'completed');
    assert.equal(view.variables.outcome, 'approve');

    const jobs = await db
      .knex('jobs')
      .where({ process_instance_id: instanceId })
      .orderBy('created_at')
      .select('id', 'type', 'element_id', 'trace_parent', 'attempt');
    assert.ok(jobs.length >= 3, `jobs: ${JSON.stringify(jobs)}`);
    // Each job's run and the step of its result, the last spans to end, have arrived.
    const spans = await spansOf(traceId, (all) =>
      jobs.every(
        (job) =>
          all.some(
            (span) =>
              span.kind === KIND.consumer &&
              span.attributes['operon.job.id'] === job.id &&
              span.attributes['operon.job.attempt'] === job.attempt,
          ) && all.some((span) => span.name === 'step job.completed' && span.attributes['operon.job.id'] === job.id),
      ),
    );
    assert.ok(receiver.contentTypes.every((type) => type.includes('json')));
    for (const span of spans) assert.equal(span.resource['service.name'], 'operon-tracing-test');

    const server = one(spans, (s) => s.kind === KIND.server && s.name === 'POST /webhooks/:bpmnProcessId', 'webhook');
    assert.equal(server.parentSpanId, callerSpanId, "the webhook's span is a child of the caller's");
    assert.equal(server.attributes['http.response.status_code'], 202);
    assert.equal(server.attributes['operon.instance_id'], instanceId);

    const start = one(spans, (s) => s.name === 'start loan-approval', 'start step');
    assert.equal(start.parentSpanId, server.spanId);
    assert.equal(start.attributes['operon.bpmn_process_id'], 'loan-approval');
    assert.equal(start.attributes['operon.instance_id'], instanceId);
    assert.equal(start.attributes['operon.process_version'], 1);

    // Stored durably: the instance row names the start's span, with the caller's tracestate.
    const row = await db.knex('process_instances').where({ id: instanceId }).first('trace_parent', 'trace_state');
    assert.equal(row.trace_parent, `00-${traceId}-${start.spanId}-01`);
    assert.equal(row.trace_state, 'vendor=caller');

    // Every job of the instance ran in a span that is a child of the step that created it.
    const stepSpans = new Set(['start loan-approval', 'step job.completed']);
    for (const job of jobs) {
      // The attempt that completed it (a busy machine may have retried a bot).
      const jobSpan = one(
        spans,
        (s) =>
          s.name === `job ${job.type}` &&
          s.attributes['operon.job.id'] === job.id &&
          s.attributes['operon.job.attempt'] === job.attempt,
        job.type,
      );
      assert.equal(jobSpan.kind, KIND.consumer);
      assert.equal(jobSpan.attributes['operon.element_id'], job.element_id);
      assert.equal(jobSpan.attributes['operon.job.type'], job.type);
      assert.equal(jobSpan.attributes['operon.instance_id'], instanceId);
      assert.equal(jobSpan.attributes['operon.bpmn_process_id'], 'loan-approval');
      assert.equal(jobSpan.attributes['operon.job.outcome'], 'completed');
      const creator = parentOf(spans, jobSpan);
      assert.ok(creator && stepSpans.has(creator.name), `${job.type} is a child of a step, not ${creator?.name}`);
      assert.equal(job.trace_parent, `00-${traceId}-${creator.spanId}-01`, 'the job row names its creating step');
      // Its result's step is a sibling: a child of the same creating step.
      const resultStep = one(
        spans,
        (s) => s.name === 'step job.completed' && s.attributes['operon.job.id'] === job.id,
        `the step of ${job.type}'s result`,
      );
      assert.equal(resultStep.parentSpanId, creator.spanId);
      assert.equal(resultStep.attributes['operon.element_id'], job.element_id);
    }

    const bots = spans.filter((s) => s.name.startsWith('bot '));
    assert.ok(bots.length >= 2, `bot spans: ${bots.map((s) => s.name).join(', ')}`);
    for (const bot of bots) assert.equal(parentOf(spans, bot)?.name, `job bot:${bot.attributes['operon.bot.name']}`);
    for (const name of ['credit-bureau', 'core-banking'])
      assert.ok(
        bots.some(
          (bot) => bot.attributes['operon.bot.name'] === name && bot.attributes['operon.bot.outcome'] === 'succeeded',
        ),
        `a succeeded run of ${name}`,
      );

    const decision = one(spans, (s) => s.name === 'decision loan', 'decision');
    assert.equal(parentOf(spans, decision)?.name, 'job decision:loan');
    assert.equal(decision.attributes['operon.decision.model'], 'loan');
    assert.equal(decision.attributes['operon.decision.label'], 'approve');
    const confidence = decision.attributes['operon.decision.confidence'];
    assert.ok(typeof confidence === 'number' && confidence > 0 && confidence <= 1, String(confidence));
    assert.equal(decision.attributes['operon.decision.needs_review'], false);

    const metrics = await call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    const text = metrics.text;
    for (const line of [
      /^operon_webhook_requests_total\{bpmn_process_id="loan-approval",status="202",code="none"\} [1-9]/m,
      /^operon_job_latency_seconds_count\{type="decision:loan",outcome="completed"\} [1-9]/m,
      /^operon_job_latency_seconds_count\{type="bot:credit-bureau",outcome="completed"\} [1-9]/m,
      /^operon_job_wait_seconds_count\{type="decision:loan"\} [1-9]/m,
      /^operon_step_latency_seconds_count\{bpmn_process_id="loan-approval",event="start"\} [1-9]/m,
      /^operon_step_latency_seconds_count\{bpmn_process_id="loan-approval",event="job.completed"\} [1-9]/m,
      /^operon_decision_confidence_count\{model="loan"\} [1-9]/m,
      /^operon_decisions_total\{model="loan",route="automated"\} [1-9]/m,
      /^operon_bot_runs_total\{bot="credit-bureau",outcome="succeeded"\} [1-9]/m,
    ])
      assert.match(text, line);
  });

  it('a review continues the trace from the start, and an overruled model shows in the review metrics', async () => {
    const traceId = randomBytes(16).toString('hex');
    const started = await call(
      'POST',
      '/webhooks/loan-approval',
      {
        applicationId: 'APP-TRACE-2',
        ...BORDERLINE_APPLICANT,
        // The model is unsure of this one (review at 0.920, under the threshold 0.95): it is handed to a person.
        purpose: 'a used car to get to my new site',
      },
      { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    );
    assert.equal(started.status, 202, started.text);
    const instanceId = started.body.instanceId as string;
    const task = await waitFor(
      async () => {
        const { body } = await call('GET', `/api/tasks?state=open&instanceId=${instanceId}`);
        return (body.tasks as { id: string; elementId: string }[]).find((t) => t.elementId === 'ReviewApplication');
      },
      BOUND_MS,
      'the review task',
      POLL_MS,
    );
    // The reviewer answers other than the model's best answer.
    const decision = await db.knex('decisions').where({ process_instance_id: instanceId }).first('scores');
    const ranked = Object.entries(decision.scores as Record<string, number>)
      .filter(([label]) => label !== 'review')
      .sort((a, b) => b[1] - a[1]);
    const other = ranked[1]![0];
    const done = await call('POST', `/api/tasks/${task.id}/complete`, {
      variables: { reviewedLabel: other, reviewer: 'alice@bank.example' },
    });
    assert.equal(done.status, 200, done.text);
    assert.equal((await ended(instanceId)).state, 'completed');

    const spans = await spansOf(traceId, (all) => all.some((s) => s.name === 'step userTask.completed'));
    const start = one(spans, (s) => s.name === 'start loan-approval', 'start step');
    const review = one(spans, (s) => s.name === 'step userTask.completed', 'the review step');
    assert.equal(review.parentSpanId, start.spanId, 'a step without a job continues from the start');
    assert.equal(review.attributes['operon.instance_id'], instanceId);

    const metrics = (await call('GET', '/metrics')).text;
    assert.match(metrics, /^operon_decisions_total\{model="loan",route="review"\} [1-9]/m);
    assert.match(metrics, /^operon_decision_reviews_total\{model="loan",verdict="overruled"\} 1$/m);
    assert.match(
      metrics,
      /^operon_step_latency_seconds_count\{bpmn_process_id="loan-approval",event="userTask.completed"\} [1-9]/m,
    );
  });

  it('an external worker gets the trace with its job, the http task sends it on, and the backlog shows in /metrics', async () => {
    const traceId = randomBytes(16).toString('hex');
    const started = await call(
      'POST',
      '/webhooks/traced-services',
      { serviceUrl },
      { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    );
    assert.equal(started.status, 202, started.text);
    const instanceId = started.body.instanceId as string;

    // The http task ran first; its job's ready external successor is the backlog.
    const ready = await waitFor(
      async () =>
        (await db
          .knex('jobs')
          .where({ process_instance_id: instanceId, type: 'tracing-external', state: 'ready' })
          .first()) ?? undefined,
      BOUND_MS,
      'the external job',
    );
    const backlog = await call('GET', '/metrics');
    assert.match(backlog.text, /^operon_jobs_ready\{type="tracing-external"\} 1$/m);
    assert.match(backlog.text, /^operon_jobs_ready_oldest_seconds\{type="tracing-external"\} [0-9.e+-]+$/m);

    const headers = serviceCalls.find((h) => String(h.traceparent ?? '').includes(traceId));
    assert.ok(headers, `the http task sent a traceparent of trace ${traceId}`);
    const [, , httpParent] = String(headers.traceparent).split('-');

    const activated = await call('POST', '/api/jobs/activate', {
      type: 'tracing-external',
      worker: 'external-1',
      maxJobs: 1,
      lockMs: 60_000,
    });
    assert.equal(activated.status, 200, activated.text);
    const job = (activated.body.jobs as ActivatedJob[])[0]!;
    assert.equal(job.id, ready.id);
    assert.equal(job.traceparent, ready.trace_parent, 'the activation answer carries the stored traceparent');
    assert.match(job.traceparent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The worker continues the job's trace in its own calls, as a traced worker does.
    const done = await call(
      'POST',
      `/api/jobs/${job.id}/complete`,
      { worker: 'external-1', attempt: job.attempt },
      { traceparent: job.traceparent! },
    );
    assert.equal(done.status, 200, done.text);
    assert.equal((await ended(instanceId)).state, 'completed');

    const spans = await spansOf(
      traceId,
      (all) =>
        all.some((s) => s.name === 'step job.completed' && s.attributes['operon.job.type'] === 'tracing-external') &&
        all.some((s) => s.name === 'job http') &&
        all.some((s) => s.name === 'POST /api/jobs/:id/complete'),
    );
    const client = one(spans, (s) => s.kind === KIND.client, 'http client span');
    assert.equal(client.spanId, httpParent, "the called service's parent is the http task's client span");
    assert.equal(client.attributes['http.response.status_code'], 200);
    assert.equal(parentOf(spans, client)?.name, 'job http');
    const [, , creatorOfExternal] = job.traceparent!.split('-');
    const creator = spans.find((s) => s.spanId === creatorOfExternal);
    assert.equal(creator?.name, 'step job.completed', 'the external job was created by the http result step');
    const resultStep = one(
      spans,
      (s) => s.name === 'step job.completed' && s.attributes['operon.job.type'] === 'tracing-external',
      'the external result step',
    );
    assert.equal(resultStep.parentSpanId, creatorOfExternal);
    const completeCall = one(spans, (s) => s.name === 'POST /api/jobs/:id/complete', 'the complete call');
    assert.equal(completeCall.kind, KIND.server);
    assert.equal(completeCall.parentSpanId, creatorOfExternal);

    // Refused deliveries count by status and code; an id without a webhook as `unknown`.
    assert.equal((await call('POST', '/webhooks/no-such-process', {})).status, 401);
    const badJson = await call('POST', '/webhooks/traced-services', '{"serviceUrl":', {
      'content-type': 'application/json',
    });
    assert.equal(badJson.status, 400, badJson.text);
    const badCode = badJson.body.error.code as string;

    const metrics = (await call('GET', '/metrics')).text;
    assert.match(
      metrics,
      /^operon_webhook_requests_total\{bpmn_process_id="unknown",status="401",code="OPERON_ERR_WEBHOOK_NOT_CONFIGURED"\} [1-9]/m,
    );
    assert.ok(
      metrics.includes(
        `operon_webhook_requests_total{bpmn_process_id="traced-services",status="400",code="${badCode}"} 1`,
      ),
      badCode,
    );
    assert.match(metrics, /^operon_job_latency_seconds_count\{type="tracing-external",outcome="completed"\} 1$/m);
    assert.match(metrics, /^operon_job_latency_seconds_count\{type="http",outcome="completed"\} [1-9]/m);
  });
});

// After the concurrent tests above, so no other loan decision moves the counters in between.
describe('decision metrics', () => {
  it('a confident `review` answer, started by webhook over HTTP, counts on the review route of /metrics, not as automated', async () => {
    const count = async (route: string) => {
      const line = new RegExp(`^operon_decisions_total\\{model="loan",route="${route}"\\} (\\d+)$`, 'm');
      return Number(line.exec((await call('GET', '/metrics')).text)?.[1] ?? 0);
    };
    const before = { automated: await count('automated'), review: await count('review') };
    const started = await call('POST', '/webhooks/loan-approval', {
      applicationId: 'APP-TRACE-3',
      ...BORDERLINE_APPLICANT,
      // Income that has not started: the written policy asks a person, and the model says so with confidence.
      purpose: 'covering rent until my next contract starts',
    });
    assert.equal(started.status, 202, started.text);
    const instanceId = started.body.instanceId as string;
    await waitFor(
      async () => {
        const { body } = await call('GET', `/api/tasks?state=open&instanceId=${instanceId}`);
        return (body.tasks as { elementId: string }[]).find((t) => t.elementId === 'ReviewApplication');
      },
      BOUND_MS,
      'the review task',
      POLL_MS,
    );
    const decision = await db
      .knex('decisions')
      .where({ process_instance_id: instanceId })
      .first('label', 'needs_review');
    assert.deepEqual([decision.label, decision.needs_review], ['review', false], 'a confident review answer');
    assert.deepEqual(
      { automated: await count('automated'), review: await count('review') },
      { automated: before.automated, review: before.review + 1 },
    );
  });
});

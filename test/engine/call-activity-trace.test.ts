/**
 * A call activity's child instance continues its parent's trace: the child's start span is a
 * child of the parent's step that called it (the context travels in the handover row), and the
 * child's jobs and the parent's step that takes the child's end follow. Spans go over OTLP/HTTP to
 * a receiver started here.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { NodeType } from '../../engine/nodes/types.ts';
import { startTracing, type Tracing } from '../../engine/telemetry/setup.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.ts';
import { openEngine, waitFor, waitForState, type TestEngine } from './support/harness.ts';

const charge: NodeType = { name: 'charge', run: async (input) => ({ receipt: `paid ${input.amount}`, cardFee: 1 }) };

let db: TestDatabase;
let receiver: OtlpReceiver;
let tracing: Tracing | undefined;
let current: TestEngine;
before(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, scheduleDelayMs: 100 });
  db = await createTestDatabase();
  current = await openEngine(db.url, { extraNodes: [charge] });
  const xml = readFileSync(new URL('../fixtures/bpmn/call-activity.bpmn', import.meta.url), 'utf8');
  await current.engine.deploy([{ name: 'call-activity.bpmn', xml }]);
});
after(async () => {
  await current?.close();
  await tracing?.shutdown();
  await receiver?.close();
  await db?.drop();
});

it("a called child instance, its jobs and the parent's next step are one trace with the parent", async () => {
  const traceId = randomBytes(16).toString('hex');
  const { instanceId } = await current.engine.startInstance(
    'order',
    { price: 5, quantity: 3 },
    { trace: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } },
  );
  await waitForState(current.engine, instanceId, 'completed');
  const child = await current.knex('process_instances').where({ parent_instance_id: instanceId }).first();
  assert.match(String(child.trace_parent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

  const spans = await waitFor(
    async () => {
      await tracing?.flush();
      const found = receiver.spans.filter((span) => span.traceId === traceId);
      return found.some((s) => s.name === 'step childInstance.completed') ? found : undefined;
    },
    30_000,
    'the spans of the call',
  );
  const parentStart = spans.find((s) => s.name === 'start order')!;
  const childStart = spans.find((s) => s.name === 'start payment')!;
  assert.ok(parentStart && childStart, spans.map((s) => s.name).join(', '));
  assert.equal(childStart.parentSpanId, parentStart.spanId, "the child's start is a child of the calling step");
  assert.equal(childStart.attributes['operon.instance_id'], child.id);
  assert.equal(childStart.attributes['operon.parent_instance_id'], instanceId);
  assert.equal(String(child.trace_parent).split('-')[2], childStart.spanId);
  const job = spans.find((s) => s.name === 'job charge')!;
  assert.equal(job.parentSpanId, childStart.spanId);
  const back = spans.find((s) => s.name === 'step childInstance.completed')!;
  assert.equal(back.attributes['operon.instance_id'], instanceId);
});

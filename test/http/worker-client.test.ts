/** The TypeScript external worker client against the API listening on a real port. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorker, JobBpmnError } from '../../engine/client/worker.ts';
import { deployFixtures, eventually, startTestApi, type TestApi } from './support/api.ts';

let api: TestApi;
let baseUrl: string;
before(async () => {
  api = await startTestApi();
  await deployFixtures(api, 'http-order.bpmn');
  baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await api?.close();
});

test('createWorker completes jobs, throws BPMN errors and fails with retries', async () => {
  const seen: string[] = [];
  const worker = createWorker({
    baseUrl,
    token: api.token,
    type: 'http-test-pack',
    maxJobs: 2,
    requestTimeoutMs: 1_000,
    async handler(job, { heartbeat }) {
      seen.push(String(job.variables.orderId));
      await heartbeat();
      if (job.variables.orderId === 'none-left') throw new JobBpmnError('OUT_OF_STOCK', 'shelf empty');
      if (job.variables.orderId === 'jam') throw new Error('printer jammed');
      return { packedBy: 'ts-worker', station: job.headers.station };
    },
  });
  try {
    const packed = await api.engine.startInstance('http-order', { orderId: 'ok-1' });
    const outOfStock = await api.engine.startInstance('http-order', { orderId: 'none-left' });
    const jammed = await api.engine.startInstance('http-order', { orderId: 'jam' });

    const afterPack = await eventually(async () => {
      const instance = await api.engine.getInstance(packed.instanceId);
      return instance?.elements.some((e) => e.elementId === 'approve') ? instance : undefined;
    });
    assert.deepEqual({ packedBy: afterPack.variables.packedBy, station: afterPack.variables.station }, { packedBy: 'ts-worker', station: 'north' });

    const cancelled = await eventually(async () => {
      const instance = await api.engine.getInstance(outOfStock.instanceId);
      return instance?.state === 'completed' ? instance : undefined;
    });
    assert.ok(cancelled.elements.some((e) => e.elementId === 'cancelled'));

    // retries="1" in the model: one failure leaves none, so the job becomes an incident.
    const [incident] = await eventually(async () => {
      const incidents = await api.engine.listIncidents({ instanceId: jammed.instanceId, state: 'open' });
      return incidents.length > 0 ? incidents : undefined;
    });
    assert.match(incident!.message, /printer jammed/);
    assert.deepEqual(seen.sort(), ['jam', 'none-left', 'ok-1']);
  } finally {
    await worker.stop();
  }
  assert.deepEqual(worker.stats, { completed: 1, failed: 1, errored: 1 });
});

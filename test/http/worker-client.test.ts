/** The TypeScript external worker client against the API listening on a real port. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
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
    // Short leases: a job the server hands to this worker's last long-poll while it stops (a race
    // on a loaded machine) goes back to ready in seconds, not a minute, for the next test's worker.
    lockMs: 5_000,
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
    assert.deepEqual(
      { packedBy: afterPack.variables.packedBy, station: afterPack.variables.station },
      { packedBy: 'ts-worker', station: 'north' },
    );

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

test('createWorker sends a completion again when its answer is lost; the repeat is answered 200 (replayed) and applied once', async () => {
  // Between worker and API: the first completion reaches the API, then its answer is thrown away
  // with the connection, as a proxy restart or a network cut would.
  let completions = 0;
  const proxy = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const upstream = await fetch(new URL(request.url!, baseUrl), {
      method: request.method,
      headers: {
        authorization: request.headers.authorization ?? '',
        'content-type': request.headers['content-type'] ?? 'application/json',
      },
      body: request.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    const body = await upstream.text();
    if (request.url!.endsWith('/complete') && ++completions === 1) {
      request.socket.destroy();
      return;
    }
    response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  const errors: unknown[] = [];
  const worker = createWorker({
    baseUrl: `http://127.0.0.1:${port}`,
    token: api.token,
    type: 'http-test-pack',
    requestTimeoutMs: 1_000,
    onError: (error) => errors.push(error),
    async handler() {
      return { packedBy: 'lost-answer' };
    },
  });
  try {
    const { instanceId } = await api.engine.startInstance('http-order', { orderId: 'lost-answer' });
    await eventually(async () => (worker.stats.completed === 1 ? true : undefined), 30_000);
    assert.equal(completions, 2, 'sent twice: the first answer was lost');
    assert.ok(errors.length >= 1, 'the lost answer was reported');
    const [row] = await api.db
      .knex('history')
      .where({ process_instance_id: instanceId, event_type: 'event.job.completed' })
      .count<{ count: string }[]>('* as count');
    assert.equal(Number(row!.count), 1, 'applied once');
    assert.equal((await api.engine.getInstance(instanceId))!.variables.packedBy, 'lost-answer');
  } finally {
    await worker.stop();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
});

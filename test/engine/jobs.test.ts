/**
 * Jobs on PostgreSQL: fenced completion, retries with backoff then an incident, resolving the
 * incident, BPMN errors from nodes, cancellation aborting a running node, the http node.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { ManualClock } from '../../engine/clock.ts';
import { OperonError } from '../../engine/errors.ts';
import type { NodeType } from '../../engine/nodes/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FAST_WORKER, fixture, openEngine, path, waitFor, waitForState, type TestEngine } from './support/harness.ts';

/** `test:flaky`: behaviour chosen per test. */
let behaviour: (signal: AbortSignal) => Promise<Record<string, unknown>> = async () => ({ result: 'ok' });
const flaky: NodeType = { name: 'test', run: (_input, ctx) => behaviour(ctx.signal) };

let db: TestDatabase;
let current: TestEngine;
let server: Server;
let serverUrl = '';
before(async () => {
  db = await createTestDatabase();
  // The test server listens on loopback, which the http node's egress policy refuses unless allowed.
  current = await openEngine(db.url, { extraNodes: [flaky], http: { allow: ['127.0.0.1'] } });
  await current.engine.deploy([fixture('jobs.bpmn')]);
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      if (request.url === '/slow') return; // never answers
      const parsed = JSON.parse(body || '{}') as { customer?: string };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ greeting: `hello ${parsed.customer} via ${request.method}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  serverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/greet`;
});
after(async () => {
  await current?.close();
  server?.close();
  await db?.drop();
});

describe('jobs', () => {
  it('fences completion: a worker whose lease expired and was taken over cannot complete', async () => {
    // Engine time stands still until the test moves it: the lease expires exactly when told to.
    const clock = new ManualClock();
    const remote = await openEngine(db.url, { worker: false, clock });
    try {
      const { instanceId } = await remote.engine.startInstance('external');
      const [stale] = await remote.engine.activateJobs({
        type: 'remote-worker',
        worker: 'worker-a',
        maxJobs: 1,
        lockMs: 100,
      });
      assert.equal(stale?.attempt, 1);
      const early = { type: 'remote-worker', worker: 'worker-b', maxJobs: 1, lockMs: 60_000 };
      assert.deepEqual(await remote.engine.activateJobs(early), [], 'the lease holds until it expires');
      clock.advance(150);
      const [fresh] = await remote.engine.activateJobs({
        type: 'remote-worker',
        worker: 'worker-b',
        maxJobs: 1,
        lockMs: 60_000,
      });
      assert.equal(fresh?.id, stale!.id);
      assert.equal(fresh?.attempt, 2);

      await assert.rejects(
        remote.engine.completeJob(stale!.id, { worker: 'worker-a', attempt: 1 }, { who: 'a' }),
        (error: unknown) => error instanceof OperonError && error.code === 'OPERON_ERR_LEASE_LOST',
      );
      await assert.rejects(
        remote.engine.completeJob(stale!.id, { worker: 'worker-b', attempt: 1 }, { who: 'b-stale' }),
        (error: unknown) => error instanceof OperonError && error.code === 'OPERON_ERR_LEASE_LOST',
      );
      await assert.rejects(
        remote.engine.heartbeatJob(stale!.id, { worker: 'worker-a', attempt: 1 }, 1_000),
        (error: unknown) => error instanceof OperonError && error.code === 'OPERON_ERR_LEASE_LOST',
      );
      await remote.engine.heartbeatJob(fresh!.id, { worker: 'worker-b', attempt: 2 }, 60_000);
      await remote.engine.completeJob(fresh!.id, { worker: 'worker-b', attempt: 2 }, { who: 'b' });
      const view = await waitForState(remote.engine, instanceId, 'completed');
      assert.equal(view.variables.who, 'b');
      assert.deepEqual(
        await remote.engine.completeJob(fresh!.id, { worker: 'worker-b', attempt: 2 }, { who: 'b' }),
        { replayed: true },
        'a retry of the applied completion',
      );
      await assert.rejects(
        remote.engine.completeJob(fresh!.id, { worker: 'worker-b', attempt: 2 }),
        (error: unknown) => error instanceof OperonError && error.code === 'OPERON_ERR_JOB_ALREADY_COMPLETED',
      );
      await assert.rejects(
        remote.engine.completeJob(stale!.id, { worker: 'worker-a', attempt: 1 }, { who: 'a' }),
        (error: unknown) => error instanceof OperonError && error.code === 'OPERON_ERR_JOB_COMPLETED_BY_OTHER',
      );
    } finally {
      await remote.close();
    }
  });

  it('retries a failing node with backoff, raises an incident when retries run out, and retries again on resolve', async () => {
    let calls = 0;
    behaviour = async () => {
      calls++;
      if (calls <= 2) throw new Error(`flaky failure ${calls}`);
      return { result: `ok after ${calls}` };
    };
    const { instanceId } = await current.engine.startInstance('flaky-job');
    const [incident] = await waitFor(
      async () => {
        const open = await current.engine.listIncidents({ instanceId, state: 'open' });
        return open.length > 0 ? open : undefined;
      },
      10_000,
      'incident',
    );
    assert.equal(incident!.code, 'OPERON_ERR_JOB_FAILED');
    assert.equal(incident!.elementId, 'call');
    assert.match(incident!.message, /flaky failure 2/);
    assert.equal(calls, 2);
    const failed = await current.knex('jobs').where({ id: incident!.jobId }).first();
    assert.equal(failed.state, 'failed');
    assert.equal(failed.retries, 0);
    const retried = await current.knex('history').where({ process_instance_id: instanceId, event_type: 'job.failed' });
    assert.equal(retried.length, 1, 'the first failure was retried with backoff');
    assert.ok(retried[0].payload.retryInMs > 0);

    await current.engine.resolveIncident(incident!.id);
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.equal(view.variables.callResult, 'ok after 3');
    assert.deepEqual(
      view.incidents.map((i) => i.state),
      ['resolved'],
    );
    await assert.rejects(
      current.engine.resolveIncident(incident!.id),
      (error: unknown) => error instanceof OperonError && error.code === 'OPERON_ERR_CONFLICT',
    );
  });

  it('routes a BpmnError from the fail node to the error boundary event', async () => {
    const { instanceId } = await current.engine.startInstance('rejecting');
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(path(view), [
      'rStart:completed',
      'check:terminated',
      'onRejected:completed',
      'rejected:completed',
    ]);
  });

  it('aborts a running node through its AbortSignal when the instance is cancelled', async () => {
    let aborted: unknown;
    let started = false;
    behaviour = (signal) =>
      new Promise((_resolve, reject) => {
        started = true;
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          reject(signal.reason);
        });
      });
    const { instanceId } = await current.engine.startInstance('flaky-job');
    await waitFor(async () => started, 10_000, 'node to start');
    await current.engine.cancelInstance(instanceId);
    await waitFor(async () => aborted, 10_000, 'abort');
    assert.match(String(aborted), /cancelled/);
    const view = await current.engine.getInstance(instanceId);
    assert.equal(view?.state, 'terminated');
    const job = await current.knex('jobs').where({ process_instance_id: instanceId }).first();
    assert.equal(job.state, 'cancelled');
  });

  it('calls a URL with the http node and maps status and body', async () => {
    const { instanceId } = await current.engine.startInstance('http-call', { endpoint: serverUrl, name: 'Ada' });
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.equal(view.variables.httpStatus, 200);
    assert.equal(view.variables.greeting, 'hello Ada via POST');
  });

  it('a stopped worker takes no jobs; started again, it runs what waited', async () => {
    behaviour = async () => ({ result: 'ok' });
    await current.engine.stopWorker();
    assert.equal(current.engine.worker, undefined);
    try {
      const { instanceId } = await current.engine.startInstance('flaky-job', {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      const job = await current.knex('jobs').where({ process_instance_id: instanceId }).first('state');
      assert.equal(job.state, 'ready', 'nobody took the job');
      current.engine.startWorker(FAST_WORKER);
      await waitForState(current.engine, instanceId, 'completed');
    } finally {
      current.engine.startWorker(FAST_WORKER);
    }
  });

  it('raises an incident at once when a node rejects its input (no retries)', async () => {
    const { instanceId } = await current.engine.startInstance('http-call', { endpoint: 'not a url', name: 'Ada' });
    const [incident] = await waitFor(
      async () => {
        const open = await current.engine.listIncidents({ instanceId, state: 'open' });
        return open.length > 0 ? open : undefined;
      },
      10_000,
      'incident',
    );
    assert.equal(incident!.code, 'OPERON_ERR_NODE_INPUT');
    const failures = await current.knex('history').where({ process_instance_id: instanceId, event_type: 'job.failed' });
    assert.equal(failures.length, 0);
  });

  it('aborts an http call that takes longer than timeoutMs and raises an incident when retries run out', async () => {
    const { instanceId } = await current.engine.startInstance('http-call', {
      endpoint: serverUrl.replace('/greet', '/slow'),
      name: 'Ada',
      timeoutMs: 100,
    });
    const [incident] = await waitFor(
      async () => {
        const open = await current.engine.listIncidents({ instanceId, state: 'open' });
        return open.length > 0 ? open : undefined;
      },
      10_000,
      'incident',
    );
    assert.equal(incident!.code, 'OPERON_ERR_JOB_FAILED');
    assert.match(incident!.message, /took longer than 100 ms/);
  });

  it('raises an incident for a BPMN error nothing catches', async () => {
    const { instanceId } = await current.engine.startInstance('uncaught');
    const [incident] = await waitFor(
      async () => {
        const open = await current.engine.listIncidents({ instanceId, state: 'open' });
        return open.length > 0 ? open : undefined;
      },
      10_000,
      'incident',
    );
    assert.equal(incident!.code, 'OPERON_ERR_UNCAUGHT_BPMN_ERROR');
    assert.equal(incident!.elementId, 'refuse');
    assert.equal((await current.engine.getInstance(instanceId))?.state, 'active');
  });

  it('aborts a node that runs past the timeoutMs task header and retries the job', async () => {
    let runs = 0;
    let abortReason: unknown;
    behaviour = (signal) =>
      new Promise((resolve, reject) => {
        runs++;
        if (runs > 1) return resolve({ result: 'second try' });
        signal.addEventListener('abort', () => {
          abortReason = signal.reason;
          reject(signal.reason);
        });
      });
    const { instanceId } = await current.engine.startInstance('timed-job');
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.equal(view.variables.callResult, 'second try');
    assert.match(String(abortReason), /timeout/);
    const failures = await current.knex('history').where({ process_instance_id: instanceId, event_type: 'job.failed' });
    assert.equal(failures.length, 1);
    assert.match(failures[0].payload.message, /did not finish within 150 ms/);
  });
});

/**
 * A worker or person whose completion went through but whose answer was lost sends it again, over
 * real HTTP (app.listen on 127.0.0.1, fetch): the same call from the same lease (worker + attempt)
 * or the same person with the same result answers 200 again and changes nothing; a different
 * attempt, worker or result gets a 409 whose code says which case it is.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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

async function post(path: string, body: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { ...api.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function activateOne(
  worker: string,
  lockMs = 60_000,
): Promise<{ id: string; attempt: number; instanceId: string }> {
  const { status, body } = await post('/api/jobs/activate', {
    type: 'http-test-pack',
    worker,
    maxJobs: 1,
    lockMs,
    requestTimeoutMs: 10_000,
  });
  assert.equal(status, 200);
  assert.equal(body.jobs.length, 1, 'one job activated');
  return body.jobs[0];
}

async function historyCount(instanceId: string, eventType: string): Promise<number> {
  const [row] = await api.db
    .knex('history')
    .where({ process_instance_id: instanceId, event_type: eventType })
    .count<{ count: string }[]>('* as count');
  return Number(row!.count);
}

describe('a retried job completion', () => {
  test('from the lease that applied it answers 200 (replayed); another attempt, worker or result gets 409 saying which', async () => {
    const { instanceId } = await api.engine.startInstance('http-order', { orderId: 'retry-1' });
    const job = await activateOne('packer-1');
    assert.equal(job.instanceId, instanceId);

    const first = await post(`/api/jobs/${job.id}/complete`, {
      worker: 'packer-1',
      attempt: job.attempt,
      variables: { parcels: 2, packedBy: 'packer-1' },
    });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { jobId: job.id });

    // Same job, worker, attempt and variables (keys in another order): the answer the first call lost.
    const retry = await post(`/api/jobs/${job.id}/complete`, {
      worker: 'packer-1',
      attempt: job.attempt,
      variables: { packedBy: 'packer-1', parcels: 2 },
    });
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.deepEqual(retry.body, { jobId: job.id, replayed: true });
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const again = await post(`/api/jobs/${job.id}/complete`, {
      worker: 'packer-1',
      attempt: job.attempt,
      variables: { parcels: 2, packedBy: 'packer-1' },
    });
    assert.equal(again.status, 200);

    const otherResult = await post(`/api/jobs/${job.id}/complete`, {
      worker: 'packer-1',
      attempt: job.attempt,
      variables: { parcels: 3 },
    });
    assert.equal(otherResult.status, 409);
    assert.equal(otherResult.body.error.code, 'OPERON_ERR_JOB_ALREADY_COMPLETED');
    const asError = await post(`/api/jobs/${job.id}/error`, {
      worker: 'packer-1',
      attempt: job.attempt,
      errorCode: 'OUT_OF_STOCK',
    });
    assert.equal(asError.status, 409);
    assert.equal(asError.body.error.code, 'OPERON_ERR_JOB_ALREADY_COMPLETED');

    const otherWorker = await post(`/api/jobs/${job.id}/complete`, {
      worker: 'packer-2',
      attempt: job.attempt,
      variables: { parcels: 2, packedBy: 'packer-1' },
    });
    assert.equal(otherWorker.status, 409);
    assert.equal(otherWorker.body.error.code, 'OPERON_ERR_JOB_COMPLETED_BY_OTHER');
    assert.equal(otherWorker.body.error.details.completedBy, 'packer-1');
    const otherAttempt = await post(`/api/jobs/${job.id}/complete`, {
      worker: 'packer-1',
      attempt: job.attempt + 1,
      variables: { parcels: 2, packedBy: 'packer-1' },
    });
    assert.equal(otherAttempt.status, 409);
    assert.equal(otherAttempt.body.error.code, 'OPERON_ERR_JOB_COMPLETED_BY_OTHER');

    // The job's step ran once: one completion event, one user task.
    assert.equal(await historyCount(instanceId, 'event.job.completed'), 1);
    const tasks = await api.db.knex('user_tasks').where({ process_instance_id: instanceId });
    assert.equal(tasks.length, 1);
    assert.equal((await api.engine.getInstance(instanceId))!.variables.parcels, 2);
  });

  test('a lease taken over by another attempt is LEASE_LOST before completion and COMPLETED_BY_OTHER after', async () => {
    const { instanceId } = await api.engine.startInstance('http-order', { orderId: 'retry-2' });
    const stale = await activateOne('slow-packer', 1_000);
    // The lease runs out; another worker takes the job over as the next attempt.
    const fresh = await eventually(async () => {
      const { body } = await post('/api/jobs/activate', {
        type: 'http-test-pack',
        worker: 'fast-packer',
        maxJobs: 1,
        lockMs: 60_000,
        requestTimeoutMs: 500,
      });
      return body.jobs[0] as { id: string; attempt: number } | undefined;
    }, 30_000);
    assert.equal(fresh.id, stale.id);
    assert.equal(fresh.attempt, stale.attempt + 1);

    const lost = await post(`/api/jobs/${stale.id}/complete`, {
      worker: 'slow-packer',
      attempt: stale.attempt,
      variables: { by: 'slow' },
    });
    assert.equal(lost.status, 409);
    assert.equal(lost.body.error.code, 'OPERON_ERR_LEASE_LOST');
    assert.match(lost.body.error.message, /another lease holds it/);

    assert.equal(
      (
        await post(`/api/jobs/${fresh.id}/complete`, {
          worker: 'fast-packer',
          attempt: fresh.attempt,
          variables: { by: 'fast' },
        })
      ).status,
      200,
    );
    const late = await post(`/api/jobs/${stale.id}/complete`, {
      worker: 'slow-packer',
      attempt: stale.attempt,
      variables: { by: 'slow' },
    });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'OPERON_ERR_JOB_COMPLETED_BY_OTHER');
    assert.equal(late.body.error.details.attempt, fresh.attempt);
    assert.equal((await api.engine.getInstance(instanceId))!.variables.by, 'fast');
  });

  test('a retried BPMN error from the same lease answers 200 (replayed) and is caught once', async () => {
    const { instanceId } = await api.engine.startInstance('http-order', { orderId: 'retry-3' });
    const job = await activateOne('packer-3');
    const thrown = { worker: 'packer-3', attempt: job.attempt, errorCode: 'OUT_OF_STOCK', errorMessage: 'shelf empty' };
    assert.equal((await post(`/api/jobs/${job.id}/error`, thrown)).status, 200);
    const retry = await post(`/api/jobs/${job.id}/error`, thrown);
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, { jobId: job.id, replayed: true });
    const asComplete = await post(`/api/jobs/${job.id}/complete`, { worker: 'packer-3', attempt: job.attempt });
    assert.equal(asComplete.body.error.code, 'OPERON_ERR_JOB_ALREADY_COMPLETED');
    const view = (await api.engine.getInstance(instanceId))!;
    assert.equal(view.state, 'completed');
    assert.equal(view.elements.filter((element) => element.elementId === 'cancelled').length, 1);
  });
});

describe('a retried user task completion', () => {
  test('by the same person with the same variables answers 200 (replayed); another person or other variables get 409', async () => {
    const { instanceId } = await api.engine.startInstance('http-order', { orderId: 'retry-4' });
    const job = await activateOne('packer-4');
    assert.equal(
      (await post(`/api/jobs/${job.id}/complete`, { worker: 'packer-4', attempt: job.attempt })).status,
      200,
    );
    const task = await eventually(
      async () =>
        (await api.db.knex('user_tasks').where({ process_instance_id: instanceId, state: 'open' }).first()) as
          | { id: string }
          | undefined,
    );

    const first = await post(`/api/tasks/${task.id}/complete`, {
      variables: { approved: true, note: 'ok' },
      completedBy: 'mia',
    });
    assert.equal(first.status, 200);
    const retry = await post(`/api/tasks/${task.id}/complete`, {
      variables: { note: 'ok', approved: true },
      completedBy: 'mia',
    });
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(retry.body, first.body, 'the same task document');

    const otherPerson = await post(`/api/tasks/${task.id}/complete`, {
      variables: { approved: true, note: 'ok' },
      completedBy: 'sam',
    });
    assert.equal(otherPerson.status, 409);
    assert.equal(otherPerson.body.error.code, 'OPERON_ERR_CONFLICT');
    const otherVariables = await post(`/api/tasks/${task.id}/complete`, {
      variables: { approved: false },
      completedBy: 'mia',
    });
    assert.equal(otherVariables.status, 409);
    assert.equal(await historyCount(instanceId, 'event.userTask.completed'), 1);
  });
});

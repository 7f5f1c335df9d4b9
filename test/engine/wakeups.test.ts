/**
 * Workers wake on NOTIFY when a job is created, and still find work by polling when notifications
 * are unavailable.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FAST_WORKER, fixture, openEngine, waitForState } from './support/harness.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
  const setup = await openEngine(db.url, { worker: false });
  await setup.engine.deploy([fixture('fork-join.bpmn'), fixture('jobs.bpmn')]);
  await setup.close();
});
after(async () => db?.drop());

it('an idle worker that polls only every 10 minutes is woken by NOTIFY', async () => {
  const sleepy = await openEngine(db.url, { worker: { ...FAST_WORKER, pollIntervalMs: 600_000 } });
  try {
    await sleepy.engine.notifications.connect();
    // Let the worker finish its first (empty) claim and go to sleep.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { instanceId } = await sleepy.engine.startInstance('fork-join');
    const view = await waitForState(sleepy.engine, instanceId, 'completed', 20_000);
    assert.equal(
      view.elements.filter((element) => element.elementType === 'serviceTask' && element.state === 'completed').length,
      2,
    );
  } finally {
    await sleepy.close();
  }
});

it('a worker without a LISTEN connection finds jobs by polling', async () => {
  const deaf = await openEngine(db.url, { worker: { ...FAST_WORKER, pollIntervalMs: 100 } });
  try {
    await deaf.engine.notifications.close();
    const { instanceId } = await deaf.engine.startInstance('fork-join');
    const view = await waitForState(deaf.engine, instanceId, 'completed', 20_000);
    assert.equal(view.state, 'completed');
  } finally {
    await deaf.close();
  }
});

it('a long-polling activateJobs returns as soon as a job of its type is created', async () => {
  const api = await openEngine(db.url, { worker: false });
  try {
    const waiting = api.engine.activateJobs({
      type: 'remote-worker',
      worker: 'poller',
      maxJobs: 5,
      lockMs: 10_000,
      requestTimeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { instanceId } = await api.engine.startInstance('external');
    const jobs = await waiting;
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.instanceId, instanceId);
    assert.equal(jobs[0]!.worker, 'poller');
    const none = await api.engine.activateJobs({
      type: 'remote-worker',
      worker: 'poller',
      maxJobs: 5,
      lockMs: 10_000,
      requestTimeoutMs: 100,
    });
    assert.deepEqual(none, []);
  } finally {
    await api.close();
  }
});

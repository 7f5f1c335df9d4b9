/**
 * Workers wake on NOTIFY when a job is created, and still find work by polling when notifications
 * are unavailable.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import type { PostgresEngine } from '../../engine/engine.ts';
import { CHANNELS } from '../../engine/store/notify.ts';
import { FAST_WORKER, fixture, openEngine, waitFor, waitForState } from './support/harness.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
  const setup = await openEngine(db.url, { worker: false });
  await setup.engine.deploy([fixture('fork-join.bpmn'), fixture('jobs.bpmn')]);
  await setup.close();
});
after(async () => db?.drop());

/** Resolves once the engine's job loop waits for a NOTIFY on the jobs channel (its LISTEN in place). */
function parkedOnJobs(engine: PostgresEngine): Promise<boolean> {
  return waitFor(
    async () =>
      engine.notifications.listening(CHANNELS.jobs) !== undefined &&
      engine.notifications.listenerCount(CHANNELS.jobs) > 0,
    10_000,
    'the job loop to wait for a notification',
  );
}

it('an idle worker that polls only every 10 minutes is woken by NOTIFY', async () => {
  const sleepy = await openEngine(db.url, { worker: { ...FAST_WORKER, pollIntervalMs: 600_000 } });
  try {
    // The worker made its first (empty) claim and sleeps: only a NOTIFY can wake it within the test.
    await parkedOnJobs(sleepy.engine);
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
    // The call found nothing and waits; its next poll would come only after 1 s.
    await parkedOnJobs(api.engine);
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

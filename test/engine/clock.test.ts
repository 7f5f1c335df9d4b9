/**
 * Engine time: timers, job backoff, message time to live and remembered message ids follow the
 * engine's clock, never PostgreSQL's now(). Given a manual clock, when the test moves it, then what
 * came due happens at once (a waiting worker hears the jump), and nothing happens before.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../engine/clock.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FAST_WORKER, fixture, openEngine, waitFor, waitForState } from './support/harness.ts';

const HOUR = 3_600_000;

const ONE_HOUR_PAUSE = fixture('pause.bpmn');
ONE_HOUR_PAUSE.name = 'hour-pause.bpmn';
ONE_HOUR_PAUSE.xml = ONE_HOUR_PAUSE.xml.replace('id="pause"', 'id="hour-pause"').replace('>PT1S<', '>PT1H<');

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
  const setup = await openEngine(db.url, { worker: false });
  await setup.engine.deploy([fixture('jobs.bpmn'), ONE_HOUR_PAUSE]);
  await setup.close();
});
after(async () => db?.drop());

it('a one-hour timer fires when the clock is moved an hour on, not before; the jump wakes a sleeping worker', async () => {
  const clock = new ManualClock();
  // Polling every 10 minutes: only the clock's jump can make the worker fire within the test.
  const engine = await openEngine(db.url, { clock, worker: { ...FAST_WORKER, pollIntervalMs: 600_000 } });
  try {
    const startedAt = clock.now();
    const { instanceId } = await engine.engine.startInstance('hour-pause');
    const timer = await engine.knex('timers').where({ process_instance_id: instanceId }).first();
    assert.equal(timer.due_at.getTime(), startedAt.getTime() + HOUR, 'due_at is written in engine time');
    clock.advance(HOUR - 1);
    assert.equal((await engine.engine.getInstance(instanceId))?.state, 'active');
    clock.advance(1);
    const view = await waitForState(engine.engine, instanceId, 'completed');
    assert.deepEqual(
      view.elements.map((element) => element.elementId),
      ['start', 'wait', 'end'],
    );
    const fired = await engine.knex('timers').where({ id: timer.id }).first();
    assert.equal(fired.fired_at.getTime(), startedAt.getTime() + HOUR, 'fired at the engine time it came due');
  } finally {
    await engine.close();
  }
});

it('a failed job is claimable again when its backoff has passed in engine time, and its lease runs in engine time', async () => {
  const clock = new ManualClock();
  const engine = await openEngine(db.url, { clock, worker: false });
  const activate = { type: 'remote-worker', worker: 'remote-1', maxJobs: 1, lockMs: 30_000 };
  try {
    await engine.engine.startInstance('external');
    const [job] = await engine.engine.activateJobs(activate);
    assert.equal(job?.deadline, new Date(clock.now().getTime() + 30_000).toISOString());
    await engine.engine.failJob(
      job!.id,
      { worker: 'remote-1', attempt: job!.attempt },
      { errorMessage: 'warehouse closed', retries: 2, retryBackoffMs: HOUR },
    );
    clock.advance(HOUR - 1);
    assert.deepEqual(await engine.engine.activateJobs(activate), [], 'still backing off');
    clock.advance(1);
    const [retried] = await engine.engine.activateJobs(activate);
    assert.equal(retried?.id, job!.id);
    assert.equal(retried?.attempt, job!.attempt + 1);
    const { deadline } = await engine.engine.heartbeatJob(retried!.id, { worker: 'remote-1', attempt: 2 }, 5_000);
    assert.equal(deadline, new Date(clock.now().getTime() + 5_000).toISOString());
  } finally {
    await engine.close();
  }
});

it('a buffered message expires when its time to live has passed in engine time', async () => {
  const clock = new ManualClock();
  const engine = await openEngine(db.url, { clock, worker: { ...FAST_WORKER, pollIntervalMs: 600_000 } });
  try {
    const published = await engine.engine.publishMessage({ name: 'late', correlationKey: 'c-1', timeToLiveMs: HOUR });
    assert.equal(published.correlated, false);
    const row = await engine.knex('messages').where({ name: 'late', correlation_key: 'c-1' }).first();
    assert.equal(row.state, 'buffered');
    assert.equal(row.expires_at.getTime(), clock.now().getTime() + HOUR);
    clock.advance(HOUR + 1);
    await waitFor(
      async () => (await engine.knex('messages').where({ id: row.id }).first()).state === 'expired',
      10_000,
      'the message to expire',
    );
  } finally {
    await engine.close();
  }
});

it('a message id is a duplicate while it is remembered, and forgotten once its time is up in engine time', async () => {
  const clock = new ManualClock();
  const engine = await openEngine(db.url, { clock, worker: false });
  const message = { name: 'ping', correlationKey: 'p-1', messageId: 'ping-1' };
  try {
    assert.equal((await engine.engine.publishMessage(message)).duplicate, undefined);
    clock.advance(engine.engine.messageIdRetentionMs - 1);
    assert.equal((await engine.engine.publishMessage(message)).duplicate, true);
    clock.advance(1);
    assert.equal((await engine.engine.publishMessage(message)).duplicate, undefined, 'remembered no longer');
  } finally {
    await engine.close();
  }
});

/**
 * Group commit: concurrent job completions and instance starts share transactions
 * (engine/jobs/group-commit.ts, engine/store/step-batch.ts) without changing what each one does —
 * a lost lease, an ended instance or a step that cannot be written stays that request's own outcome.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '../../engine/jobs/group-commit.ts';
import { OperonError } from '../../engine/errors.ts';
import type { ActivatedJob } from '../../engine/api.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture, openEngine, type TestEngine } from './support/harness.ts';

describe('GroupCommit', () => {
  /** A run function that records its batches and finishes when told to. */
  function recorder() {
    const batches: number[][] = [];
    const releases: (() => void)[] = [];
    const run = async (batch: number[]) => {
      batches.push(batch);
      await new Promise<void>((resolve) => releases.push(resolve));
      return batch.map((n) => (n < 0 ? { ok: false as const, error: new Error(`bad ${n}`) } : { ok: true as const }));
    };
    const releaseAll = async () => {
      while (releases.length > 0) releases.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    };
    return { batches, run, releaseAll };
  }

  it('sends a request alone at once, and gathers the ones that arrive while batches commit', async () => {
    const { batches, run, releaseAll } = recorder();
    const group = new GroupCommit<number>({ run, maxInFlight: 1, maxBatch: 3 });
    const first = group.submit(1);
    assert.deepEqual(batches, [[1]], 'the first request did not wait for company');
    const rest = [2, 3, 4, 5].map((n) => group.submit(n));
    await releaseAll();
    assert.deepEqual(batches, [[1], [2, 3, 4]], 'waiting requests go together, at most maxBatch');
    await releaseAll();
    assert.deepEqual(batches, [[1], [2, 3, 4], [5]]);
    await releaseAll();
    await Promise.all([first, ...rest]);
  });

  it('a second batch goes out beside a committing one only when a full batch waits', async () => {
    const { batches, run, releaseAll } = recorder();
    const group = new GroupCommit<number>({ run, maxInFlight: 2, maxBatch: 3 });
    const all = [group.submit(1)];
    all.push(group.submit(2), group.submit(3));
    assert.deepEqual(batches, [[1]], 'two waiting requests are not a full batch: they wait for the first');
    all.push(group.submit(4));
    assert.deepEqual(batches, [[1], [2, 3, 4]], 'a full batch waiting goes out beside the committing one');
    all.push(group.submit(5));
    await releaseAll();
    assert.deepEqual(batches, [[1], [2, 3, 4], [5]]);
    await releaseAll();
    await releaseAll();
    await Promise.all(all);
  });

  it('never puts two requests with the same key in one batch, and keeps their order', async () => {
    const { batches, run, releaseAll } = recorder();
    const group = new GroupCommit<number>({ run, maxInFlight: 1, key: (n) => String(n % 2) });
    const all = [0, 1, 2, 3, 4].map((n) => group.submit(n));
    for (let i = 0; i < 5; i++) await releaseAll();
    await Promise.all(all);
    assert.deepEqual(batches, [[0], [1, 2], [3, 4]]);
  });

  it('settles each request with its own outcome; a failed batch fails its requests only', async () => {
    let fail = false;
    const group = new GroupCommit<number>({
      maxInFlight: 1,
      run: async (batch) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (fail) throw new Error('connection lost');
        return batch.map((n) => (n < 0 ? { ok: false as const, error: new Error(`bad ${n}`) } : { ok: true as const }));
      },
    });
    const outcomes = await Promise.allSettled([1, -2, 3].map((n) => group.submit(n)));
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /bad -2/);
    fail = true;
    await assert.rejects(group.submit(4), /connection lost/);
    fail = false;
    await group.submit(5);
  });
});

describe('group commit on PostgreSQL', () => {
  let db: TestDatabase;
  let current: TestEngine;
  before(async () => {
    db = await createTestDatabase();
    current = await openEngine(db.url, { worker: false });
    await current.engine.deploy([fixture('jobs.bpmn')]);
  });
  after(async () => {
    await current?.close();
    await db?.drop();
  });

  it('starts 60 instances at once and completes their jobs at once; each instance steps exactly once', async () => {
    const started = await Promise.all(
      Array.from({ length: 60 }, (_, n) => current.engine.startInstance('external', { n })),
    );
    assert.equal(new Set(started.map((s) => s.instanceId)).size, 60);
    const jobs = await current.engine.activateJobs({ type: 'remote-worker', worker: 'w', maxJobs: 60, lockMs: 60_000 });
    assert.equal(jobs.length, 60);
    await Promise.all(
      jobs.map((job) =>
        current.engine.completeJob(
          job.id,
          { worker: 'w', attempt: job.attempt },
          { doubled: Number(job.variables.n) * 2 },
        ),
      ),
    );

    const rows = await current
      .knex('process_instances')
      .whereIn(
        'id',
        started.map((s) => s.instanceId),
      )
      .select('id', 'state', 'variables', 'row_version');
    assert.equal(rows.length, 60);
    for (const row of rows) {
      assert.equal(row.state, 'completed');
      assert.equal(row.variables.doubled, row.variables.n * 2, 'each instance got its own job result');
      assert.equal(row.row_version, 2, 'inserted at 1, one step after the start');
    }
    const completions = await current
      .knex('history')
      .whereIn(
        'process_instance_id',
        started.map((s) => s.instanceId),
      )
      .where({ event_type: 'event.job.completed' })
      .count<{ count: string }[]>('* as count');
    assert.equal(Number(completions[0]!.count), 60);
    // History keeps each instance's own order: activation, completion, end.
    const one = await current
      .knex('history')
      .where({ process_instance_id: started[0]!.instanceId })
      .orderBy('id')
      .pluck('event_type');
    assert.equal(one[0], 'instance.started');
    assert.equal(one.at(-1), 'instance.completed');
    assert.ok(one.indexOf('event.job.completed') > one.indexOf('job.created'));
    const elements = await current
      .knex('element_instances')
      .where({ process_instance_id: started[0]!.instanceId })
      .orderBy('seq')
      .select('element_id', 'state');
    assert.deepEqual(elements, [
      { element_id: 'eStart', state: 'completed' },
      { element_id: 'remote', state: 'completed' },
      { element_id: 'eEnd', state: 'completed' },
    ]);
  });

  it('a stale lease and a result that cannot be stored fail alone; the rest of the batch completes', async () => {
    const started = await Promise.all(
      Array.from({ length: 12 }, (_, n) => current.engine.startInstance('external', { n })),
    );
    const jobs = await current.engine.activateJobs({
      type: 'remote-worker',
      worker: 'w2',
      maxJobs: 12,
      lockMs: 60_000,
    });
    assert.equal(jobs.length, 12);
    const [stale, poisoned, ...good] = jobs;
    const outcomes = await Promise.allSettled([
      current.engine.completeJob(stale!.id, { worker: 'w2', attempt: stale!.attempt + 1 }, {}),
      // jsonb cannot hold U+0000: this step's write fails, and only this instance gets the incident.
      current.engine.completeJob(
        poisoned!.id,
        { worker: 'w2', attempt: poisoned!.attempt },
        { note: 'nul \u0000 here' },
      ),
      ...good.map((job) => current.engine.completeJob(job.id, { worker: 'w2', attempt: job.attempt }, { ok: true })),
    ]);
    assert.equal(outcomes[0]!.status, 'rejected');
    assert.ok((outcomes[0] as PromiseRejectedResult).reason instanceof OperonError);
    assert.equal(((outcomes[0] as PromiseRejectedResult).reason as OperonError).code, 'OPERON_ERR_LEASE_LOST');
    for (const outcome of outcomes.slice(1)) assert.equal(outcome.status, 'fulfilled');

    const byJob = new Map(jobs.map((job) => [job.id, job.instanceId]));
    const state = async (jobId: string) =>
      (
        await current
          .knex('process_instances')
          .where({ id: byJob.get(jobId) })
          .first()
      ).state;
    assert.equal(await state(stale!.id), 'active', 'the stale completion changed nothing');
    assert.equal(await state(poisoned!.id), 'active');
    const incidents = await current
      .knex('incidents')
      .where({ process_instance_id: byJob.get(poisoned!.id), state: 'open' });
    assert.equal(incidents.length, 1, 'the result that could not be stored became an incident on its own instance');
    for (const job of good) assert.equal(await state(job.id), 'completed');
    assert.equal(started.length, 12);
  });

  it('completions and BPMN errors take one path: each applies once, and its retry is answered replayed', async () => {
    const started = await Promise.all(
      Array.from({ length: 3 }, (_, n) => current.engine.startInstance('external', { n })),
    );
    const ids = new Set(started.map((s) => s.instanceId));
    const jobs = (
      await current.engine.activateJobs({ type: 'remote-worker', worker: 'w3', maxJobs: 100, lockMs: 60_000 })
    ).filter((job) => ids.has(job.instanceId));
    assert.equal(jobs.length, 3);
    const [done, refused, flaky] = jobs as [ActivatedJob, ActivatedJob, ActivatedJob];
    const lease = (job: ActivatedJob) => ({ worker: 'w3', attempt: job.attempt });
    const error = { errorCode: 'NOPE', errorMessage: 'not this one' };
    await Promise.all([
      current.engine.completeJob(done.id, lease(done), { ok: 1 }),
      current.engine.throwJobError(refused.id, lease(refused), error),
      current.engine.failJob(flaky.id, lease(flaky), { errorMessage: 'flaky', retries: 1, retryBackoffMs: 0 }),
    ]);
    // The same calls again (answers lost): the same results are successes that change nothing.
    assert.deepEqual(await current.engine.completeJob(done.id, lease(done), { ok: 1 }), { replayed: true });
    assert.deepEqual(await current.engine.throwJobError(refused.id, lease(refused), error), { replayed: true });
    await assert.rejects(
      current.engine.completeJob(done.id, lease(done), { ok: 2 }),
      (thrown: OperonError) => thrown.code === 'OPERON_ERR_JOB_ALREADY_COMPLETED',
    );
    // A failure after the completion goes through the same fence: refused, nothing changes.
    await assert.rejects(
      current.engine.failJob(done.id, lease(done), { errorMessage: 'late' }),
      (thrown: OperonError) => thrown.code === 'OPERON_ERR_JOB_ALREADY_COMPLETED',
    );
    const job = (id: string) => current.knex('jobs').where({ id }).first();
    assert.equal((await job(done.id)).error_message, null);
    assert.equal((await job(refused.id)).error_message, 'BPMN error NOPE: not this one');
    const incidents = await current.engine.listIncidents({ instanceId: refused.instanceId, state: 'open' });
    assert.deepEqual(
      incidents.map((incident) => incident.code),
      ['OPERON_ERR_UNCAUGHT_BPMN_ERROR'],
    );

    // A job that failed once and then completed is a completion (its earlier failure stays in history).
    const [again] = (
      await current.engine.activateJobs({ type: 'remote-worker', worker: 'w3', maxJobs: 100, lockMs: 60_000 })
    ).filter((retried) => retried.id === flaky.id);
    assert.ok(again, 'the failed job is claimable again');
    await current.engine.completeJob(again.id, lease(again), { ok: 3 });
    assert.equal((await job(flaky.id)).error_message, null);
    assert.deepEqual(await current.engine.completeJob(again.id, lease(again), { ok: 3 }), { replayed: true });
    for (const { instanceId } of [done, flaky])
      assert.equal((await current.engine.getInstance(instanceId))?.state, 'completed');
  });

  it('a start of an unknown process fails alone while other starts commit', async () => {
    const outcomes = await Promise.allSettled([
      current.engine.startInstance('external', { n: 1 }),
      current.engine.startInstance('no-such-process', {}),
      current.engine.startInstance('external', { n: 2 }),
    ]);
    assert.equal(outcomes[0]!.status, 'fulfilled');
    assert.equal(outcomes[2]!.status, 'fulfilled');
    assert.equal(outcomes[1]!.status, 'rejected');
    assert.equal(((outcomes[1] as PromiseRejectedResult).reason as OperonError).code, 'OPERON_ERR_NOT_FOUND');
  });

  it('starts of a given version or start event share the one start path; each gets its own outcome', async () => {
    const outcomes = await Promise.allSettled([
      current.engine.startInstance('external', { n: 1 }, { version: 1 }),
      current.engine.startInstance('external', { n: 2 }, { startEventId: 'eStart' }),
      current.engine.startInstance('external', { n: 3 }, { startEventId: 'nope' }),
      current.engine.startInstance('external', { n: 4 }, { version: 99 }),
      current.engine.startInstance('external', { n: 5 }),
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /nope/);
    assert.equal(((outcomes[3] as PromiseRejectedResult).reason as OperonError).code, 'OPERON_ERR_NOT_FOUND');
    assert.match(String((outcomes[3] as PromiseRejectedResult).reason), /version 99/);
    const ids = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.instanceId] : []));
    const rows = await current.knex('process_instances').whereIn('id', ids).select('version', 'state');
    assert.deepEqual(
      rows.map((row) => [row.version, row.state]),
      [
        [1, 'active'],
        [1, 'active'],
        [1, 'active'],
      ],
    );
    const started = await current
      .knex('history')
      .where({ process_instance_id: ids[1], event_type: 'instance.started' })
      .first();
    assert.equal(started.payload.startEventId, 'eStart');
  });

  it('a start that brings the latest version (as webhooks do) starts that one; a hint for another process is ignored', async () => {
    const definitions = await current
      .knex('process_definitions')
      .where({ bpmn_process_id: 'external' })
      .orderBy('version', 'desc')
      .select('id', 'bpmn_process_id', 'version');
    const latest = definitions[0]!;
    const [hinted, foreign] = await Promise.all([
      current.engine.startInstance('external', { n: 1 }, { latest }),
      current.engine.startInstance(
        'external',
        { n: 2 },
        { latest: { id: latest.id, bpmn_process_id: 'some-other-process', version: 99 } },
      ),
    ]);
    const rows = await current
      .knex('process_instances')
      .whereIn('id', [hinted.instanceId, foreign.instanceId])
      .select('id', 'definition_id', 'version');
    for (const row of rows) {
      assert.equal(row.definition_id, latest.id);
      assert.equal(row.version, latest.version);
    }
    assert.equal(rows.length, 2);
  });
});

/**
 * A decision's audit row and its job's result commit or roll back together: the `decisions` row is
 * written by the decision package's record hook inside the transaction that completes the job (the
 * node itself never sees the database). Real model, real PostgreSQL, the in-process worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import type { NodeRegistry } from '../../engine/nodes/registry.ts';
import { isOperonError } from '../../engine/errors.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import { DECISION_RECORD } from '../../nodes/decision/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { oneTaskProcess } from '../support/decision-stack.ts';
import { waitFor } from '../engine/support/harness.ts';

const known = JSON.parse(readFileSync(new URL('./fixtures/known-cases.json', import.meta.url), 'utf8'));
const CASE = known.loan[1].variables as Record<string, unknown>;

const task = (processId: string, type: string) => oneTaskProcess(processId, type, 1);

let db: TestDatabase;
let nodes: NodeRegistry;
let engine: PostgresEngine;

before(async () => {
  db = await createTestDatabase({ poolMax: 8 });
  nodes = await createNodeRegistry({ decision: true });
  engine = createEngine({ db: db.knex, nodes, worker: { concurrency: 2, pollIntervalMs: 50, lockMs: 30_000 } });
  await engine.deploy([
    { name: 'decide.bpmn', xml: task('decide', 'decision:loan') },
    { name: 'remote.bpmn', xml: task('decide-remote', 'audit-remote') },
  ]);
});

after(async () => {
  await engine?.close();
  await nodes?.close();
  await db?.drop();
});

const jobOf = (instanceId: string) => db.knex('jobs').where({ process_instance_id: instanceId }).first();
const decisionsOf = (instanceId: string) => db.knex('decisions').where({ process_instance_id: instanceId });

test('a completed decision job and its audit row commit together', { timeout: 60_000 }, async () => {
  const { instanceId } = await engine.startInstance('decide', CASE);
  const view = await waitFor(
    async () => {
      const v = await engine.getInstance(instanceId);
      return v?.state === 'completed' && v;
    },
    30_000,
    'the decision instance to complete',
  );
  const job = await jobOf(instanceId);
  assert.equal(job.state, 'completed');
  const rows = await decisionsOf(instanceId);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].job_id, job.id);
  assert.equal(rows[0].element_id, 'Decide');
  assert.equal((view.variables.decision as { decisionId: string }).decisionId, rows[0].id);
});

test('a completion that rolls back after the hook wrote the row leaves no decisions row', {
  timeout: 60_000,
}, async () => {
  // Fires at COMMIT, after the hook ran: refuses a job completed with a decisions row beside it in
  // the same transaction (so it also proves the row was written there). The engine then turns the
  // job into an incident; the result was not applied and the row must be gone with it.
  await db.knex.raw(`
    CREATE FUNCTION refuse_decided_completion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.state = 'completed' AND EXISTS (SELECT 1 FROM decisions WHERE job_id = NEW.id) THEN
        RAISE EXCEPTION 'completion of job % refused at commit', NEW.id;
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER refuse_decided_completion AFTER UPDATE ON jobs
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_decided_completion();`);
  try {
    const { instanceId } = await engine.startInstance('decide', CASE);
    const view = await waitFor(
      async () => {
        const v = await engine.getInstance(instanceId);
        return v && v.incidents.length > 0 && v;
      },
      30_000,
      'the refused completion to become an incident',
    );
    assert.match(view.incidents[0]!.message, /refused at commit/);
    assert.equal((await jobOf(instanceId)).state, 'failed');
    assert.equal(view.variables.decision, undefined);
    assert.deepEqual(await decisionsOf(instanceId), []);
  } finally {
    await db.knex.raw(`DROP TRIGGER refuse_decided_completion ON jobs; DROP FUNCTION refuse_decided_completion();`);
  }
});

test('a completion under a lost lease writes no record; the lease holder’s writes it', async () => {
  const { instanceId } = await engine.startInstance('decide-remote', {});
  const [job] = await engine.activateJobs({ type: 'audit-remote', worker: 'w1', maxJobs: 1, lockMs: 30_000 });
  assert.ok(job);
  const row = (id: string) => ({
    id,
    process_instance_id: instanceId,
    element_id: 'Decide',
    job_id: job.id,
    model_name: 'loan',
    model_version: 'test',
    model_file_hash: 'f'.repeat(64),
    prompt: 'p',
    inputs: '{}',
    scores: '{}',
    label: 'approve',
    confidence: 1,
    threshold: 0.5,
    needs_review: false,
    truncated: false,
    truncated_fields: '[]',
    latency_ms: 1,
  });
  const stale = randomUUID();
  await assert.rejects(
    engine.completeJob(job.id, { worker: 'w2', attempt: job.attempt }, {}, undefined, [
      { kind: DECISION_RECORD, payload: row(stale) },
    ]),
    (error: unknown) => isOperonError(error) && error.code === 'OPERON_ERR_LEASE_LOST',
  );
  assert.equal(await db.knex('decisions').where({ id: stale }).first(), undefined);
  const held = randomUUID();
  await engine.completeJob(job.id, { worker: 'w1', attempt: job.attempt }, {}, undefined, [
    { kind: DECISION_RECORD, payload: row(held) },
  ]);
  assert.equal((await db.knex('decisions').where({ id: held }).first()).job_id, job.id);
  assert.equal((await jobOf(instanceId)).state, 'completed');
});

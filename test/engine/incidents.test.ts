/**
 * Failures inside a running instance become incident rows: the instance stays active and
 * consistent, the worker keeps running, and other instances are unaffected.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeType } from '../../engine/nodes/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture, openEngine, waitFor, waitForState, type TestEngine } from './support/harness.ts';

let gate: () => Promise<Record<string, unknown>> = async () => ({});
const gated: NodeType = { name: 'test', run: () => gate() };

let db: TestDatabase;
let current: TestEngine;
before(async () => {
  db = await createTestDatabase();
  current = await openEngine(db.url, { extraNodes: [gated] });
  await current.engine.deploy([fixture('bad-condition.bpmn'), fixture('fork-join.bpmn'), fixture('jobs.bpmn')]);
});
after(async () => {
  await current?.close();
  await db?.drop();
});

it('a gateway condition that is not boolean raises an incident on the instance', async () => {
  const { instanceId } = await current.engine.startInstance('bad-condition', { amount: 42 });
  const view = await current.engine.getInstance(instanceId);
  assert.equal(view?.state, 'active');
  assert.equal(view?.incidents.length, 1);
  assert.equal(view?.incidents[0]?.code, 'OPERON_ERR_CONDITION_NOT_BOOLEAN');
  assert.equal(view?.incidents[0]?.elementId, 'decide');
  const open = await current.knex('open_incidents').where({ process_instance_id: instanceId });
  assert.equal(open.length, 1);
});

it('a job result the engine cannot apply ends in an incident, not a crashed worker; resolving it runs the job again', async () => {
  // The node waits at a gate, so the stored snapshot can be broken while it runs.
  let open: () => void = () => {};
  let running = false;
  gate = () =>
    new Promise((resolve) => {
      running = true;
      open = () => resolve({ result: 'done' });
    });
  const { instanceId } = await current.engine.startInstance('flaky-job');
  await waitFor(async () => running, 10_000, 'node to run');
  const goodSnapshot = (await current.knex('process_instances').where({ id: instanceId }).first()).snapshot;
  await current
    .knex('process_instances')
    .where({ id: instanceId })
    .update({ snapshot: JSON.stringify({ __runtimeSnapshot: true, garbage: 1 }) });
  open();
  const [incident] = await waitFor(
    async () => {
      const rows = await current.engine.listIncidents({ instanceId, state: 'open' });
      return rows.length > 0 ? rows : undefined;
    },
    10_000,
    'incident',
  );
  assert.ok(incident!.jobId, 'the incident names the job');
  const instanceRow = await current.knex('process_instances').where({ id: instanceId }).first();
  assert.equal(instanceRow.state, 'active');
  assert.equal(instanceRow.row_version, 1, 'nothing half-written');

  // The worker still runs other instances.
  gate = async () => ({ result: 'fine' });
  const { instanceId: healthy } = await current.engine.startInstance('fork-join');
  await waitForState(current.engine, healthy, 'completed');

  await current
    .knex('process_instances')
    .where({ id: instanceId })
    .update({ snapshot: JSON.stringify(goodSnapshot) });
  await current.engine.resolveIncident(incident!.id);
  const view = await waitForState(current.engine, instanceId, 'completed');
  assert.equal(view.variables.callResult, 'fine');
});

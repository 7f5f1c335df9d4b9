/** Operator actions over HTTP on PostgreSQL: POST /api/instances/{id}/modify and POST /api/signals. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from '../http/support/api.ts';
import { conformanceXml } from './cases.ts';
import { deliverHandovers } from '../../engine/store/handovers.ts';

let api: TestApi;
before(async () => {
  api = await startTestApi();
  await api.engine.deploy(
    ['service-task', 'signal-boundary'].map((p) => ({ name: `${p}.bpmn`, xml: conformanceXml(p) })),
  );
});
after(async () => {
  await api?.close();
});

const modify = (id: string, payload: unknown) =>
  api.app.inject({
    method: 'POST',
    url: `/api/instances/${id}/modify`,
    headers: { ...api.auth, 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });
const activeKey = async (id: string, elementId: string) =>
  (await api.engine.getInstance(id))!.elements.find((e) => e.elementId === elementId && e.state === 'active')!
    .elementInstanceKey;

describe('POST /api/instances/{id}/modify', () => {
  it('retries a task from the start, then moves the token to the end', async () => {
    const { instanceId } = await api.engine.startInstance('service-task', { applicant: { income: 1 } });
    const first = await activeKey(instanceId, 'Activity_score');
    const retried = await modify(instanceId, { activate: ['Activity_score'], terminate: [first] });
    assert.equal(retried.statusCode, 200, retried.body);
    const second = await activeKey(instanceId, 'Activity_score');
    assert.notEqual(second, first);
    const jobs = await api.db
      .knex('jobs')
      .where({ process_instance_id: instanceId })
      .orderBy('created_at')
      .select('element_instance_key', 'state');
    assert.deepEqual(
      jobs.map((j) => `${j.element_instance_key}:${j.state}`),
      [`${first}:cancelled`, `${second}:ready`],
    );

    const moved = await modify(instanceId, { activate: ['EndEvent_1'], terminate: [second] });
    assert.equal(moved.statusCode, 200, moved.body);
    const view = JSON.parse(moved.body);
    assert.equal(view.state, 'completed');
    assert.deepEqual(
      view.elements.map((e: { elementId: string; state: string }) => `${e.elementId}:${e.state}`),
      ['StartEvent_1:completed', 'Activity_score:terminated', 'Activity_score:terminated', 'EndEvent_1:completed'],
    );
  });

  it('refuses an unknown element with 400 and changes nothing', async () => {
    const { instanceId } = await api.engine.startInstance('service-task', {});
    const before = await api.db.knex('process_instances').where({ id: instanceId }).first('row_version');
    const response = await modify(instanceId, { activate: ['Nope'] });
    assert.equal(response.statusCode, 400);
    assert.equal(JSON.parse(response.body).error.code, 'OPERON_ERR_VALIDATION');
    assert.deepEqual(await api.db.knex('process_instances').where({ id: instanceId }).first('row_version'), before);
  });
});

describe('POST /api/signals', () => {
  it('reaches every waiting signal boundary event; the instances leave over it in their own steps', async () => {
    const { instanceId } = await api.engine.startInstance('signal-boundary', {});
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/signals',
      headers: { ...api.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'stop-all', variables: { reason: 'audit' } }),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(JSON.parse(response.body), { receivers: 1 });
    // No worker runs in this harness: carry the handover out the way a worker's timer loop does.
    assert.equal(
      await deliverHandovers(api.db.knex, api.engine.graphs, { info() {}, warn() {}, error() {}, debug() {} } as never),
      1,
    );
    const view = (await api.engine.getInstance(instanceId))!;
    assert.equal(view.state, 'completed');
    assert.equal(view.variables.reason, 'audit');
    assert.equal(view.elements.at(-1)!.elementId, 'EndEvent_stopped');
  });
});

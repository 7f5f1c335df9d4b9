/**
 * Signals on PostgreSQL: a throw (end event) reaches every waiting instance (boundary event) and
 * starts every process with a signal start event of that name; each receiver steps in its own
 * transaction (instance_handovers). Also through engine.broadcastSignal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine, path, waitFor, waitForState, type TestEngine } from '../engine/support/harness.ts';
import { parseDefinitions } from '../../engine/model/index.ts';

const file = (name: string) => ({
  name: `${name}.bpmn`,
  xml: readFileSync(new URL(`../fixtures/bpmn/conformance/${name}.bpmn`, import.meta.url), 'utf8'),
});

let db: TestDatabase;
let current: TestEngine;
before(async () => {
  db = await createTestDatabase();
  current = await openEngine(db.url);
  await current.engine.deploy(['signal-boundary', 'signal-start', 'signal-end'].map(file));
});
after(async () => {
  await current?.close();
  await db?.drop();
});

describe('signals on PostgreSQL', () => {
  it('a signal end event interrupts every waiting instance and starts the signal start process', async () => {
    const waiting = await Promise.all([1, 2].map(() => current.engine.startInstance('signal-boundary')));
    for (const { instanceId } of waiting) {
      await waitFor(async () => (await current.engine.listUserTasks({ instanceId, state: 'open' })).length === 1);
    }
    const { instanceId: thrower } = await current.engine.startInstance('signal-end');
    assert.equal((await current.engine.getInstance(thrower))!.state, 'completed');
    for (const { instanceId } of waiting) {
      const view = await waitForState(current.engine, instanceId, 'completed');
      assert.deepEqual(path(view), [
        'StartEvent_1:completed',
        'Activity_review:terminated',
        'Event_stopped:completed',
        'EndEvent_stopped:completed',
      ]);
      assert.equal(view.variables.reason, 'closing time', 'the throw event input mappings travel with the signal');
    }
    const started = await waitFor(
      async () => (await current.knex('process_instances').where({ bpmn_process_id: 'signal-start' }))[0],
    );
    const view = await waitForState(current.engine, started.id, 'completed');
    assert.deepEqual(view.variables, { reason: 'closing time', log: 'stopped at closing time' });
  });

  it('a signal with no receiver is lost (not buffered)', async () => {
    const before = await current
      .knex('process_instances')
      .where({ bpmn_process_id: 'signal-boundary' })
      .count<{ count: string }[]>('* as count');
    const { instanceId } = await current.engine.startInstance('signal-boundary');
    await waitFor(async () => (await current.engine.listUserTasks({ instanceId, state: 'open' })).length === 1);
    assert.equal(
      (await current.engine.getInstance(instanceId))!.state,
      'active',
      'the earlier signal did not reach an instance started after it',
    );
    assert.ok(Number(before[0]!.count) >= 2);
    await current.engine.cancelInstance(instanceId);
  });

  it('a signal without a name is refused at deployment', async () => {
    const xml = file('signal-boundary').xml.replace(' name="stop-all"', '');
    await assert.rejects(parseDefinitions(xml, 'nameless.bpmn'), { code: 'OPERON_ERR_BPMN_INVALID' });
  });
});

/**
 * A non-interrupting message boundary event stays subscribed while its activity is active: every
 * message correlates (as in Zeebe), not only the first. In memory (straight and restarted at every
 * step) and on PostgreSQL through engine.publishMessage; the subscription closes with the activity.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseDefinitions } from '../../engine/model/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine, waitFor, waitForState, type TestEngine } from '../engine/support/harness.ts';
import { scenario } from '../runtime/scenario.ts';
import { conformanceXml } from './cases.ts';

const PROCESS = 'message-boundary-repeat';
const COMPLETED = [
  'StartEvent_1',
  'Event_reminder',
  'Activity_count',
  'EndEvent_reminded',
  'Event_reminder',
  'Activity_count',
  'EndEvent_reminded',
  'Event_reminder',
  'Activity_count',
  'EndEvent_reminded',
  'Activity_review',
  'EndEvent_1',
];
const FINAL = { orderId: 'o-7', reminded: ['first', 'second', 'third'] };
/** The same for a non-interrupting message event subprocess while its scope (the process) is active. */
const SUBPROCESS = 'message-event-subprocess-repeat';

describe('non-interrupting message boundary event in memory', () => {
  it('correlates every message while the activity is active; none after it completed', async () => {
    const [graph] = await parseDefinitions(conformanceXml(PROCESS), `${PROCESS}.bpmn`);
    const instance = await scenario(graph!, { variables: { orderId: 'o-7', reminded: [] } }, async (i) => {
      for (const note of ['first', 'second', 'third'])
        assert.ok(await i.publishMessage('reminder', 'o-7', { note }), `message "${note}" correlated`);
      await i.completeUserTask('Activity_review');
      assert.equal(
        await i.publishMessage('reminder', 'o-7', { note: 'late' }),
        false,
        'the subscription closed with the activity',
      );
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, COMPLETED);
    const { note: _note, ...variables } = instance.variables;
    assert.deepEqual(variables, FINAL);
  });
});

describe('non-interrupting message boundary event on PostgreSQL', () => {
  let db: TestDatabase;
  let current: TestEngine;
  before(async () => {
    db = await createTestDatabase();
    current = await openEngine(db.url);
    await current.engine.deploy(
      [PROCESS, SUBPROCESS].map((name) => ({ name: `${name}.bpmn`, xml: conformanceXml(name) })),
    );
  });
  after(async () => {
    await current?.close();
    await db?.drop();
  });

  it('correlates every message while the activity is active; none after it completed', async () => {
    const { instanceId } = await current.engine.startInstance(PROCESS, { orderId: 'o-7', reminded: [] });
    const task = await waitFor(async () => (await current.engine.listUserTasks({ instanceId, state: 'open' }))[0]);
    for (const note of ['first', 'second', 'third']) {
      assert.deepEqual(
        await current.engine.publishMessage({ name: 'reminder', correlationKey: 'o-7', variables: { note } }),
        { correlated: true, instanceId },
        `message "${note}"`,
      );
    }
    await current.engine.completeUserTask(task.id);
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(
      await current.engine.publishMessage({ name: 'reminder', correlationKey: 'o-7', variables: { note: 'late' } }),
      { correlated: false },
    );
    const completions = await current
      .knex('history')
      .where({ process_instance_id: instanceId, event_type: 'element.completed' })
      .orderBy('id')
      .pluck('element_id');
    assert.deepEqual(completions, COMPLETED);
    const { note: _note, ...variables } = view.variables;
    assert.deepEqual(variables, FINAL);
    assert.equal(
      Number(
        (
          await current
            .knex('message_subscriptions')
            .where({ process_instance_id: instanceId, state: 'open' })
            .count<{ count: string }[]>('* as count')
        )[0]!.count,
      ),
      0,
    );
  });

  it('a non-interrupting message event subprocess starts for every message while its scope is active', async () => {
    const { instanceId } = await current.engine.startInstance(SUBPROCESS, { orderId: 'o-8', notes: [] });
    const task = await waitFor(async () => (await current.engine.listUserTasks({ instanceId, state: 'open' }))[0]);
    for (const note of ['one', 'two']) {
      assert.deepEqual(
        await current.engine.publishMessage({ name: 'note', correlationKey: 'o-8', variables: { note } }),
        { correlated: true, instanceId },
        `message "${note}"`,
      );
    }
    await current.engine.completeUserTask(task.id);
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(view.variables.notes, ['one', 'two']);
    assert.deepEqual(
      await current.engine.publishMessage({ name: 'note', correlationKey: 'o-8', variables: { note: 'late' } }),
      { correlated: false },
    );
  });
});

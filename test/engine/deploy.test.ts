/**
 * Deployment on PostgreSQL: versions, identical XML, warnings for task types without a node, node
 * validation naming the element, all-or-nothing; message and timer start events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../engine/clock.ts';
import { OperonError } from '../../engine/errors.ts';
import { fireDueTimers } from '../../engine/timers/fire-due-timers.ts';
import type { NodeType } from '../../engine/nodes/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture, openEngine, waitFor, type TestEngine } from './support/harness.ts';

/** A `bot` node that knows one bot, like nodes/bot does. */
const bots: NodeType = {
  name: 'bot',
  validate(binding) {
    if (binding.name !== 'credit-bureau') {
      throw new OperonError(
        'OPERON_ERR_UNKNOWN_BOT',
        `Task '${binding.elementId}' names unknown bot '${binding.name}'`,
        { details: { elementId: binding.elementId, bot: binding.name } },
      );
    }
  },
  async run() {
    return {};
  },
};

let db: TestDatabase;
let current: TestEngine;
before(async () => {
  db = await createTestDatabase();
  current = await openEngine(db.url, { extraNodes: [bots] });
});
after(async () => {
  await current?.close();
  await db?.drop();
});

const countDefinitions = async () =>
  Number((await current.knex('process_definitions').count<{ count: string }[]>('* as count'))[0]!.count);

describe('deploy', () => {
  it('numbers versions per process id; identical XML creates no new version', async () => {
    const first = await current.engine.deploy([fixture('fork-join.bpmn')]);
    assert.deepEqual(
      first.processes.map((p) => [p.bpmnProcessId, p.version, p.created]),
      [['fork-join', 1, true]],
    );
    const again = await current.engine.deploy([fixture('fork-join.bpmn')]);
    assert.deepEqual(
      again.processes.map((p) => [p.version, p.created, p.definitionId]),
      [[1, false, first.processes[0]!.definitionId]],
    );
    const changed = fixture('fork-join.bpmn');
    changed.xml = changed.xml.replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="end" name="Done">');
    const second = await current.engine.deploy([changed]);
    assert.deepEqual(
      second.processes.map((p) => [p.version, p.created]),
      [[2, true]],
    );
    const listed = (await current.engine.listProcesses()).filter((p) => p.bpmnProcessId === 'fork-join');
    assert.deepEqual(
      listed.map((p) => p.version),
      [2, 1],
    );
    assert.equal(await current.engine.getProcessXml(second.processes[0]!.definitionId), changed.xml);
  });

  it('warns about task types no registered node handles (they wait for external workers)', async () => {
    const result = await current.engine.deploy([fixture('wait-states.bpmn')]);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]!, /warehouse-robot/);
    assert.match(result.warnings[0]!, /wait-states\/ship/);
  });

  it('fails the whole deployment when a bot task names an unknown bot, naming the element', async () => {
    const before = await countDefinitions();
    await assert.rejects(current.engine.deploy([fixture('jobs.bpmn'), fixture('bot-task.bpmn')]), (error: unknown) => {
      assert.ok(error instanceof OperonError);
      assert.equal(error.code, 'OPERON_ERR_UNKNOWN_BOT');
      assert.equal(error.details.elementId, 'fillForm');
      return true;
    });
    assert.equal(await countDefinitions(), before, 'nothing half-deployed');
  });

  it('fails a bot task when no bot node is registered at all', async () => {
    const plain = await openEngine(db.url, { worker: false });
    try {
      await assert.rejects(plain.engine.deploy([fixture('bot-task.bpmn')]), (error: unknown) => {
        assert.ok(error instanceof OperonError);
        assert.equal(error.code, 'OPERON_ERR_UNKNOWN_BOT');
        assert.equal(error.details.elementId, 'fillForm');
        return true;
      });
    } finally {
      await plain.close();
    }
  });

  it('rejects malformed XML naming the file, deploying nothing of the batch', async () => {
    const before = await countDefinitions();
    await assert.rejects(
      current.engine.deploy([fixture('jobs.bpmn'), { name: 'broken.bpmn', xml: '<bpmn:definitions' }]),
      (error: unknown) => {
        assert.ok(error instanceof OperonError);
        assert.equal(error.code, 'OPERON_ERR_BPMN_PARSE');
        assert.match(JSON.stringify({ message: error.message, details: error.details }), /broken\.bpmn/);
        return true;
      },
    );
    assert.equal(await countDefinitions(), before);
  });
});

describe('start events and messages', () => {
  it('starts an instance from a message start event and fires a due timer start event once', async () => {
    await current.engine.deploy([fixture('start-events.bpmn')]);
    const started = await current.engine.publishMessage({
      name: 'order-placed',
      correlationKey: 'order-7',
      variables: { orderId: 'order-7' },
    });
    assert.equal(started.correlated, true);
    const view = await current.engine.getInstance(started.instanceId!);
    assert.equal(view?.state, 'completed');
    assert.equal(view?.variables.orderId, 'order-7');
    assert.deepEqual(
      view?.elements.map((e) => e.elementId),
      ['orderPlaced', 'end'],
    );

    const nightly = await waitFor(
      async () => {
        const rows = await current.engine.listInstances({ bpmnProcessId: 'nightly' });
        return rows.length > 0 ? rows : undefined;
      },
      10_000,
      'timer start',
    );
    // Ten years on, nothing of it is left to fire: a timeDate start fires once, not again later.
    const muchLater = new ManualClock(new Date(Date.now() + 10 * 365 * 24 * 3_600_000));
    const firing = { clock: muchLater };
    assert.equal(await fireDueTimers(current.knex, current.engine.graphs, current.engine.logger, firing), 0);
    assert.equal(
      (await current.engine.listInstances({ bpmnProcessId: 'nightly' })).length,
      1,
      'a timeDate start fires once',
    );
    assert.equal(nightly[0]!.state, 'completed');
    const timers = await current.knex('timers').whereNull('process_instance_id');
    assert.deepEqual(
      timers.map((t) => t.state),
      ['fired'],
    );
  });

  it('buffers a message with a TTL until a subscription opens; without a TTL it is dropped', async () => {
    const dropped = await current.engine.publishMessage({
      name: 'paid',
      correlationKey: 'late-1',
      variables: { amount: 1 },
    });
    assert.equal(dropped.correlated, false);
    const buffered = await current.engine.publishMessage({
      name: 'paid',
      correlationKey: 'late-2',
      variables: { amount: 2 },
      timeToLiveMs: 60_000,
    });
    assert.equal(buffered.correlated, false);

    for (const orderId of ['late-1', 'late-2']) {
      const { instanceId } = await current.engine.startInstance('wait-states', { orderId });
      const [task] = await current.engine.listUserTasks({ instanceId, state: 'open' });
      await current.engine.completeUserTask(task!.id, {});
      const view = await current.engine.getInstance(instanceId);
      const receive = view!.elements.find((e) => e.elementId === 'awaitPayment');
      if (orderId === 'late-1') {
        assert.equal(receive?.state, 'active', 'no buffered message: still waiting');
      } else {
        assert.equal(receive?.state, 'completed', 'the buffered message correlated when the subscription opened');
        assert.equal(view!.variables.amount, 2);
      }
    }
    const messages = await current.knex('messages').where({ correlation_key: 'late-2' });
    assert.deepEqual(
      messages.map((m) => m.state),
      ['correlated'],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectsOf, fixture, scenario, trail } from './scenario.ts';
import type { ConditionalGateway } from '../../engine/model/graph.ts';

const HOUR = 3_600_000;
const activations = (instance: Awaited<ReturnType<typeof scenario>>, elementId: string) =>
  effectsOf(instance, 'element.activated').filter((e) => e.elementId === elementId).length;

describe('inclusive gateway (inclusive.bpmn)', () => {
  for (const [a, b, expected] of [
    [true, true, ['taskA', 'taskB']],
    [true, false, ['taskA']],
    [false, true, ['taskB']],
    [false, false, ['nothing']],
  ] as const) {
    it(`a=${a} b=${b}: takes ${expected.join(' + ')} and joins exactly once`, async () => {
      const instance = await scenario(await fixture('inclusive.bpmn'), {
        variables: { a, b },
        handlers: { work: () => {} },
      });
      assert.equal(instance.state, 'completed');
      assert.deepEqual(
        instance.completedElementIds.filter((id) => ['taskA', 'taskB', 'nothing'].includes(id)),
        expected,
      );
      assert.equal(activations(instance, 'join'), 1);
      assert.equal(activations(instance, 'end'), 1);
    });
  }

  it('the join waits for a branch that is still running', async () => {
    const instance = await scenario(await fixture('inclusive.bpmn'), { variables: { a: true, b: true } }, async (i) => {
      await i.completeJob('taskA');
      assert.equal(activations(i, 'join'), 0);
      await i.completeJob('taskB');
    });
    assert.equal(activations(instance, 'join'), 1);
    assert.equal(instance.state, 'completed');
  });

  it('no true condition and no default flow is an incident', async () => {
    const graph = structuredClone(await fixture('inclusive.bpmn'));
    delete (graph.elements.split as ConditionalGateway).defaultFlow;
    graph.flows.toNone!.condition = 'false';
    const instance = await scenario(graph, { variables: { a: false, b: false } });
    assert.equal([...instance.incidents.values()][0]!.code, 'OPERON_ERR_NO_OUTGOING_FLOW');
  });
});

describe('inclusive join on an unstructured graph (inclusive-unstructured.bpmn)', () => {
  it('fires as soon as no token can reach its empty incoming flow any more', async () => {
    const instance = await scenario(
      await fixture('inclusive-unstructured.bpmn'),
      { variables: { viaJoin: false } },
      async (i) => {
        await i.completeJob('taskA');
        assert.equal(activations(i, 'join'), 0, 'taskB could still reach the join');
        await i.completeJob('taskB');
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(activations(instance, 'join'), 1);
    assert.deepEqual(instance.completedElementIds.filter((id) => id.startsWith('end')).sort(), ['end', 'endB']);
  });

  it('merges both tokens when branch B comes to the join', async () => {
    const instance = await scenario(
      await fixture('inclusive-unstructured.bpmn'),
      { variables: { viaJoin: true } },
      async (i) => {
        await i.completeJob('taskB');
        await i.completeJob('taskA');
      },
    );
    assert.equal(activations(instance, 'join'), 1);
    assert.equal(activations(instance, 'end'), 1);
    assert.equal(instance.state, 'completed');
  });
});

describe('inclusive join in a loop (inclusive-loop.bpmn)', () => {
  it('does not wait for a token that could reach its empty flow only by the loop, as it can reach a filled one the same way', async () => {
    const instance = await scenario(await fixture('inclusive-loop.bpmn'), { variables: { rounds: 0 } }, async (i) => {
      await i.completeJob('taskA');
      assert.equal(activations(i, 'join'), 1, 'taskC, still active, does not hold the join back');
      await i.completeJob('taskC');
      await i.completeJob('taskC');
      await i.completeJob('taskA');
    });
    assert.equal(instance.state, 'completed');
    assert.equal(activations(instance, 'join'), 2);
    assert.equal(activations(instance, 'parJoin'), 2);
    assert.equal(instance.variables.rounds, 2);
  });
});

describe('event-based gateway (event-gateway.bpmn)', () => {
  it('a message first: takes the message path and cancels the timer', async () => {
    const instance = await scenario(
      await fixture('event-gateway.bpmn'),
      { variables: { requestId: 'r1' } },
      async (i) => {
        assert.equal(i.timers.size, 1);
        assert.deepEqual(
          i.subscriptions.map((s) => [s.elementId, s.messageName, s.correlationKey]),
          [['approved', 'approval', 'r1']],
        );
        assert.equal(await i.publishMessage('approval', 'r1', { approvedBy: 'ann' }), true);
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'race:completed',
      'approved:completed',
      'endApproved:completed',
    ]);
    assert.equal(instance.variables.approvedBy, 'ann');
    assert.equal(effectsOf(instance, 'timer.cancel').length, 1);
    assert.equal(instance.timers.size, 0);
  });

  it('the timer first: takes the timeout path and closes the subscription', async () => {
    const instance = await scenario(
      await fixture('event-gateway.bpmn'),
      { variables: { requestId: 'r2' } },
      async (i) => {
        await i.advanceClock(24 * HOUR);
      },
    );
    assert.deepEqual(trail(instance), [
      'start:completed',
      'race:completed',
      'timeout:completed',
      'endTimeout:completed',
    ]);
    assert.equal(instance.subscriptions.length, 0);
    assert.equal(effectsOf(instance, 'subscription.close').length, 1);
  });
});

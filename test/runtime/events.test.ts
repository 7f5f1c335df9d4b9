import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startInstance, step } from '../../engine/runtime/index.ts';
import { effectsOf, fixture, scenario, trail } from './scenario.ts';

const HOUR = 3_600_000;

describe('receive task and intermediate message catch (messages.bpmn)', () => {
  it('opens subscriptions with FEEL correlation keys and completes on correlation', async () => {
    const instance = await scenario(await fixture('messages.bpmn'), { variables: { orderId: 42 } }, async (i) => {
      assert.deepEqual(
        i.subscriptions.map((s) => [s.elementId, s.messageName, s.correlationKey]),
        [['waitPayment', 'payment-received', '42']],
      );
      assert.equal(await i.publishMessage('payment-received', '41', {}), false, 'another key does not correlate');
      assert.equal(await i.publishMessage('payment-received', '42', { paid: 99.5 }), true);
      assert.deepEqual(
        i.subscriptions.map((s) => [s.elementId, s.messageName, s.correlationKey]),
        [['shipped', 'order-shipped', 'ship-42']],
      );
      assert.equal(await i.publishMessage('order-shipped', 'ship-42', { carrier: 'DHL' }), true);
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['start', 'waitPayment', 'shipped', 'end']);
    assert.deepEqual(instance.variables, { orderId: 42, amountPaid: 99.5, carrier: 'DHL' });
    assert.equal(
      (instance.variables as Record<string, unknown>).paid,
      undefined,
      'with output mappings only the mapped variables reach the scope',
    );
    assert.deepEqual(
      effectsOf(instance, 'subscription.close').map((c) => c.elementInstanceKey),
      ['2', '3'],
    );
  });

  it('a correlation key that evaluates to null is an incident; resolving with the variable opens the subscription', async () => {
    const instance = await scenario(await fixture('messages.bpmn'), {}, async (i) => {
      assert.equal([...i.incidents.values()][0]!.code, 'OPERON_ERR_FEEL_EVAL');
      assert.equal(i.subscriptions.length, 0);
      await i.resolveIncident('waitPayment', { orderId: 7 });
      assert.equal(i.subscriptions[0]!.correlationKey, '7');
    });
    assert.equal(instance.state, 'active');
    assert.equal(instance.variables.orderId, 7);
  });
});

describe('intermediate timer catch (timers.bpmn)', () => {
  it('waits for an ISO duration, a FEEL date and a FEEL duration', async () => {
    const now = new Date('2026-03-01T08:00:00Z');
    const instance = await scenario(
      await fixture('timers.bpmn'),
      { now, variables: { deadline: '2026-03-01T12:00:00Z', minutes: 15 } },
      async (i) => {
        assert.deepEqual(
          [...i.timers.values()].map((t) => [t.elementId, t.dueAt]),
          [['wait1h', '2026-03-01T09:00:00.000Z']],
        );
        await i.advanceClock(HOUR - 1);
        assert.deepEqual(i.completedElementIds, ['start'], 'not due yet');
        await i.advanceClock(1);
        assert.deepEqual(
          [...i.timers.values()].map((t) => [t.elementId, t.dueAt]),
          [['waitUntil', '2026-03-01T12:00:00.000Z']],
        );
        await i.advanceClock(3 * HOUR);
        assert.deepEqual(
          [...i.timers.values()].map((t) => [t.elementId, t.dueAt]),
          [['waitFeel', '2026-03-01T12:15:00.000Z']],
        );
        await i.advanceClock(15 * 60_000);
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['start', 'wait1h', 'waitUntil', 'waitFeel', 'end']);
  });

  it('a timer expression that gives no valid date is an incident', async () => {
    const instance = await scenario(
      await fixture('timers.bpmn'),
      { variables: { deadline: 'soon', minutes: 1 } },
      async (i) => {
        await i.advanceClock(HOUR);
      },
    );
    const [incident] = effectsOf(instance, 'incident.raise');
    assert.equal(incident!.elementId, 'waitUntil');
    assert.equal(incident!.code, 'OPERON_ERR_FEEL_EVAL');
  });

  it('a fired timer key that is no longer known is ignored and changes nothing', async () => {
    const graph = await fixture('timers.bpmn');
    const started = startInstance(graph, { instanceId: 'i1', now: new Date('2026-01-01T00:00:00Z'), variables: {} });
    const result = step(
      graph,
      started.snapshot,
      { type: 'timer.fired', timerKey: 'nope' },
      { now: new Date('2026-01-01T02:00:00Z') },
    );
    assert.ok(result.ignored);
    assert.deepEqual(result.effects, []);
    assert.equal(result.snapshot, started.snapshot);
  });
});

describe('start events (start-events.bpmn)', () => {
  it('starts at the none start event by default, at a message or timer start event by id', async () => {
    const graph = await fixture('start-events.bpmn');
    for (const startEventId of [undefined, 'byMessage', 'nightly']) {
      const instance = await scenario(graph, { variables: { order: 1 }, ...(startEventId ? { startEventId } : {}) });
      assert.equal(instance.state, 'completed');
      assert.deepEqual(instance.completedElementIds, [startEventId ?? 'byHand', 'merge', 'end']);
      assert.deepEqual(instance.variables, { order: 1 });
    }
  });

  it('refuses an unknown start event', async () => {
    const graph = await fixture('start-events.bpmn');
    assert.throws(() => startInstance(graph, { instanceId: 'x', now: new Date(), startEventId: 'nope' }), {
      code: 'OPERON_ERR_NOT_FOUND',
    });
  });
});

describe('terminate end event (terminate.bpmn)', () => {
  it('terminates the other tokens and completes the instance', async () => {
    const instance = await scenario(await fixture('terminate.bpmn'), {});
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'fork:completed',
      'waitForever:terminated',
      'stop:completed',
    ]);
    assert.deepEqual(
      effectsOf(instance, 'userTask.cancel').map((c) => c.elementInstanceKey),
      [instance.elements[2]!.elementInstanceKey],
    );
    assert.equal(instance.userTasks.size, 0);
  });
});

describe('instance cancellation', () => {
  it('terminates every active element and cancels its waits', async () => {
    const instance = await scenario(await fixture('messages.bpmn'), { variables: { orderId: 1 } }, async (i) => {
      await i.cancel();
    });
    assert.equal(instance.state, 'terminated');
    assert.deepEqual(trail(instance), ['start:completed', 'waitPayment:terminated']);
    assert.deepEqual(
      instance.history.slice(-3).map((e) => e.type),
      ['subscription.close', 'element.terminated', 'instance.terminated'],
    );
    assert.equal(instance.subscriptions.length, 0);
  });
});

describe('link events and message throw events (links-and-message-events.bpmn)', () => {
  it('a throw link jumps to its catch link; message throw and end events run as jobs', async () => {
    const calls: string[] = [];
    const handlers = {
      notify: () => {
        calls.push('notify');
        return { notified: true };
      },
      publish: () => {
        calls.push('publish');
      },
    };
    const instance = await scenario(await fixture('links-and-message-events.bpmn'), () => ({ handlers }));
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['start', 'goToPage2', 'page2', 'notify', 'published']);
    assert.deepEqual(
      effectsOf(instance, 'job.create').map((j) => [j.elementId, j.taskType, j.retries]),
      [
        ['notify', 'notify', 3],
        ['published', 'publish', 2],
      ],
    );
    assert.equal(instance.variables.notified, true);
  });

  it('a message throw event without a task definition is refused at deployment', async () => {
    const { parseDefinitions } = await import('../../engine/model/index.ts');
    const { readFileSync } = await import('node:fs');
    const xml = readFileSync(
      new URL('../fixtures/bpmn/links-and-message-events.bpmn', import.meta.url),
      'utf8',
    ).replace('<zeebe:taskDefinition type="notify" />', '');
    await assert.rejects(parseDefinitions(xml, 'x.bpmn'), {
      code: 'OPERON_ERR_BPMN_UNSUPPORTED',
      details: {
        file: 'x.bpmn',
        elementId: 'notify',
        elementType: 'IntermediateThrowEvent',
        feature: 'message throw event without a zeebe:taskDefinition',
      },
    });
  });
});

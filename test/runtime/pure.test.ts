import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startInstance, step, type InstanceSnapshot, type RuntimeEvent } from '../../engine/runtime/index.ts';
import { fixture } from './scenario.ts';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const entry of Object.values(value)) deepFreeze(entry);
    Object.freeze(value);
  }
  return value;
}

const now = new Date('2026-05-01T10:00:00Z');

describe('the runtime is pure', () => {
  it('never mutates the snapshot or event it is given, and the same input gives the same output', async () => {
    const graph = deepFreeze(await fixture('parallel.bpmn'));
    const started = startInstance(graph, { instanceId: 'i-1', now, variables: { n: 1 } });
    const snapshot = deepFreeze(JSON.parse(JSON.stringify(started.snapshot)) as InstanceSnapshot);
    const jobA = started.effects.find((e) => e.type === 'job.create' && e.elementId === 'taskA')!;
    const event = deepFreeze<RuntimeEvent>({
      type: 'job.completed',
      elementInstanceKey: (jobA as { elementInstanceKey: string }).elementInstanceKey,
      variables: { a: [1, 2] },
    });
    const first = step(graph, snapshot, event, { now });
    const second = step(graph, snapshot, event, { now });
    assert.deepStrictEqual(second, first);
    assert.deepEqual(first.variables, { n: 1, a: [1, 2] });
  });

  it('gives deterministic element instance keys from the snapshot sequence', async () => {
    const graph = await fixture('parallel.bpmn');
    const a = startInstance(graph, { instanceId: 'x', now });
    const b = startInstance(graph, { instanceId: 'y', now: new Date('2030-01-01T00:00:00Z') });
    const keys = (r: typeof a) =>
      r.effects.flatMap((e) => (e.type === 'element.activated' ? [`${e.elementId}=${e.elementInstanceKey}`] : []));
    assert.deepEqual(keys(a), keys(b));
    assert.deepEqual(keys(a), ['start=1', 'fork=2', 'taskA=3', 'taskB=4']);
  });

  it('ignores a job completion for an element that was interrupted meanwhile', async () => {
    const graph = await fixture('boundary-messages.bpmn');
    const started = startInstance(graph, { instanceId: 'i', now, variables: { orderId: 'o' } });
    const pack = started.effects.find((e) => e.type === 'job.create')! as { elementInstanceKey: string };
    const cancelled = step(
      graph,
      started.snapshot,
      { type: 'message.correlated', elementInstanceKey: pack.elementInstanceKey, messageName: 'order-cancelled' },
      { now },
    );
    assert.equal(cancelled.state, 'completed');
    const late = step(
      graph,
      cancelled.snapshot,
      { type: 'job.completed', elementInstanceKey: pack.elementInstanceKey },
      { now },
    );
    assert.ok(late.ignored);
    assert.deepEqual(late.effects, []);
    assert.equal(late.snapshot, cancelled.snapshot);
  });

  it('ignores an unknown message name for a subscribed element', async () => {
    const graph = await fixture('messages.bpmn');
    const started = startInstance(graph, { instanceId: 'i', now, variables: { orderId: 3 } });
    const result = step(
      graph,
      started.snapshot,
      { type: 'message.correlated', elementInstanceKey: '2', messageName: 'order-shipped' },
      { now },
    );
    assert.match(result.ignored!, /no subscription/);
  });
});

describe('effects never share objects with the snapshot', () => {
  it('a handler that changes its input does not change the instance', async () => {
    const { runInMemory } = await import('../../engine/runtime/memory.ts');
    const graph = await fixture('loan-check.bpmn');
    const instance = await runInMemory(graph, {
      variables: { applicant: { income: 7000 }, amount: 1 },
      handlers: {
        'credit-score': (input) => {
          (input.applicant as { income: number }).income = -1;
          return { score: 700 };
        },
      },
    });
    assert.deepEqual(instance.variables.applicant, { income: 7000 });
  });
});

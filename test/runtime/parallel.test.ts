import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectsOf, fixture, scenario, trail } from './scenario.ts';

const activations = (instance: Awaited<ReturnType<typeof scenario>>, elementId: string) =>
  effectsOf(instance, 'element.activated').filter((e) => e.elementId === elementId).length;

describe('parallel gateway', () => {
  it('forks and joins once (parallel.bpmn)', async () => {
    const handlers = { 'work-a': () => ({ a: 1 }), 'work-b': () => ({ b: 2 }) };
    const instance = await scenario(await fixture('parallel.bpmn'), { handlers });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['start', 'fork', 'taskA', 'taskB', 'join', 'end']);
    assert.equal(activations(instance, 'join'), 1);
    assert.deepEqual(instance.variables, { a: 1, b: 2 });
  });

  it('joins whatever order the branches complete in', async () => {
    const instance = await scenario(await fixture('parallel.bpmn'), {}, async (i) => {
      await i.completeJob('taskB', { b: 'first' });
      assert.equal(i.state, 'active');
      assert.deepEqual(
        trail(i).filter((t) => t.startsWith('join')),
        [],
        'the join waits for the other branch',
      );
      await i.completeJob('taskA', { a: 'second' });
    });
    assert.equal(instance.state, 'completed');
    assert.equal(activations(instance, 'join'), 1);
  });

  it('joins tokens from different forks on an unstructured graph (parallel-unstructured.bpmn)', async () => {
    const instance = await scenario(await fixture('parallel-unstructured.bpmn'), {}, async (i) => {
      await i.completeJob('taskC');
      await i.completeJob('taskD');
      assert.equal(i.state, 'active', 'one end reached, the join still waits for A');
      await i.completeJob('taskA');
    });
    assert.equal(instance.state, 'completed');
    assert.equal(activations(instance, 'join'), 1);
    assert.deepEqual(
      instance.completedElementIds.filter((id) => id.startsWith('end')),
      ['endD', 'endJ'],
    );
  });

  it('fires once per round inside a loop (parallel-loop.bpmn)', async () => {
    const instance = await scenario(await fixture('parallel-loop.bpmn'), {
      variables: { round: 0 },
      handlers: { work: () => {} },
    });
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.round, 3);
    assert.equal(activations(instance, 'join'), 3);
    assert.equal(activations(instance, 'taskA'), 3);
    assert.equal(activations(instance, 'end'), 1);
  });

  it('an extra token on one incoming flow waits for the next firing (parallel-extra-token.bpmn)', async () => {
    const instance = await scenario(await fixture('parallel-extra-token.bpmn'), {}, async (i) => {
      assert.equal(activations(i, 'join'), 0, 'two tokens over viaMerge, none over viaZ yet');
      await i.completeJob('z');
    });
    assert.equal(activations(instance, 'join'), 1, 'fires once: one token per incoming flow');
    assert.equal(instance.state, 'active', 'the extra token still waits at the join');
    const snapshot = instance.snapshot as unknown as { joins: Record<string, Record<string, number>> };
    assert.deepEqual(Object.values(snapshot.joins), [{ viaMerge: 1 }]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transition } from 'xstate';
import { nextElementLifecycle } from '../../engine/runtime/lifecycle.ts';
import { processInstanceMachine } from '../../engine/runtime/instance-machine.ts';
import { startInstance } from '../../engine/runtime/index.ts';
import type { RuntimeState } from '../../engine/runtime/state.ts';
import { fixture } from './scenario.ts';

describe('lifecycles on xstate', () => {
  it('element instances go activating -> active -> completing -> completed, or terminated; nothing else', () => {
    assert.equal(nextElementLifecycle('activating', 'ACTIVATED'), 'active');
    assert.equal(nextElementLifecycle('active', 'COMPLETE'), 'completing');
    assert.equal(nextElementLifecycle('completing', 'COMPLETED'), 'completed');
    for (const from of ['activating', 'active', 'completing'] as const)
      assert.equal(nextElementLifecycle(from, 'TERMINATE'), 'terminated');
    assert.throws(() => nextElementLifecycle('completed', 'TERMINATE'), { code: 'OPERON_ERR_INTERNAL' });
    assert.throws(() => nextElementLifecycle('activating', 'COMPLETED'), { code: 'OPERON_ERR_INTERNAL' });
  });

  it('a step is xstate transition on the instance machine: effects come back as actions, not run', async () => {
    const graph = await fixture('parallel.bpmn');
    const started = startInstance(graph, { instanceId: 'm', now: new Date('2026-01-01T00:00:00Z') });
    const state = started.snapshot as unknown as RuntimeState;
    const jobs = started.effects.filter((e) => e.type === 'job.create') as Array<{ elementInstanceKey: string }>;
    let snapshot = processInstanceMachine.resolveState({ value: state.lifecycle, context: state });
    for (const job of jobs) {
      const [next, actions] = transition(processInstanceMachine, snapshot, {
        type: 'step',
        graph,
        input: { kind: 'event', event: { type: 'job.completed', elementInstanceKey: job.elementInstanceKey } },
        ctx: { now: new Date('2026-01-01T00:00:01Z') },
      });
      assert.ok(actions.length > 0 && actions.every((a) => a.type === 'effect'));
      snapshot = next;
    }
    assert.equal(snapshot.value, 'completed');
    assert.equal(snapshot.status, 'done');
    assert.equal(snapshot.context.lifecycle, 'completed');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryInstance } from '../../engine/runtime/memory.ts';
import type { JobTask } from '../../engine/model/graph.ts';
import { effectsOf, fixture, scenario } from './scenario.ts';

describe('a loop without a wait state', () => {
  it('stops with OPERON_ERR_STEP_LIMIT instead of hanging; resolving lets the token go on', async () => {
    const graph = structuredClone(await fixture('parallel-loop.bpmn'));
    // No jobs in the loop, and a condition that never ends it.
    for (const id of ['taskA', 'taskB']) {
      const { job: _job, ...task } = graph.elements[id] as JobTask;
      graph.elements[id] = { ...task, type: 'task' };
    }
    graph.serviceTasks = [];
    graph.flows.loop!.condition = 'round < 1000000';
    const instance = await scenario(
      graph,
      { variables: { round: 0 }, activationLimit: 500, stepBudgetMs: 600_000 },
      async (i) => {
        assert.equal(i.state, 'active');
        const [incident] = [...i.incidents.values()];
        assert.equal(incident!.code, 'OPERON_ERR_STEP_LIMIT');
        const roundBefore = i.variables.round as number;
        assert.ok(roundBefore > 50);
        // Every token in flight was parked (both parallel branches may be); resolve them all.
        for (const open of [...i.incidents.values()]) await i.resolveIncident(open.elementInstanceKey);
        assert.ok((i.variables.round as number) > roundBefore, 'the loop went on for another step');
      },
    );
    assert.ok(effectsOf(instance, 'incident.raise').every((e) => e.code === 'OPERON_ERR_STEP_LIMIT'));
    assert.ok(instance.incidents.size > 0, 'the second step hit the limit again');
  });

  it('stops with OPERON_ERR_STEP_LIMIT naming the element once a step passes its time budget, long before the activation limit', async () => {
    const graph = structuredClone(await fixture('parallel-loop.bpmn'));
    for (const id of ['taskA', 'taskB']) {
      const { job: _job, ...task } = graph.elements[id] as JobTask;
      graph.elements[id] = { ...task, type: 'task' };
    }
    graph.serviceTasks = [];
    graph.flows.loop!.condition = 'round < 1000000000';
    // Not a scenario: where a time budget stops a step depends on the machine, so two runs differ.
    const instance = await new InMemoryInstance(graph, {
      variables: { round: 0 },
      activationLimit: 100_000_000,
      stepBudgetMs: 20,
    }).start();
    const [incident] = effectsOf(instance, 'incident.raise');
    assert.equal(incident!.code, 'OPERON_ERR_STEP_LIMIT');
    assert.match(incident!.message, new RegExp(`time budget of 20 ms .*stopped at "${incident!.elementId}"`));
    assert.ok((incident!.details!.activations as number) < 100_000_000);
    assert.equal(instance.state, 'active');
  });
});

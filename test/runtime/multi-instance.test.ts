import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BpmnError } from '../../engine/errors.ts';
import type { UserTask } from '../../engine/model/graph.ts';
import { effectsOf, fixture, scenario } from './scenario.ts';

const carriers = [{ name: 'dhl' }, { name: 'ups' }, { name: 'gls' }];
const prices: Record<string, number> = { dhl: 12, ups: 9, gls: 15 };

describe('multi-instance activities (multi-instance.bpmn)', () => {
  it('parallel: one job per item with its own locals; outputs collected in item order', async () => {
    const instance = await scenario(
      await fixture('multi-instance.bpmn'),
      { variables: { carriers, approvers: [] } },
      async (i) => {
        const jobs = [...i.jobs.values()];
        assert.deepEqual(
          jobs.map((j) => [j.input.carrierName, j.input.loopCounter]),
          [
            ['dhl', 1],
            ['ups', 2],
            ['gls', 3],
          ],
        );
        // Complete out of order: the collection still follows the items.
        for (const index of [2, 0, 1])
          await i.completeJob(jobs[index]!.elementInstanceKey, {
            price: prices[jobs[index]!.input.carrierName as string],
          });
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.variables.quotes, [
      { carrier: 'dhl', price: 12 },
      { carrier: 'ups', price: 9 },
      { carrier: 'gls', price: 15 },
    ]);
    assert.equal(instance.variables.best, 9);
    assert.equal(instance.variables.carrier, undefined, 'the input element is local to each inner instance');
    const body = effectsOf(instance, 'element.activated').find((e) => e.elementId === 'quote')!;
    assert.equal(body.elementType, 'multiInstanceBody');
    assert.equal(
      effectsOf(instance, 'element.activated').filter((e) => e.parentKey === body.elementInstanceKey).length,
      3,
    );
  });

  it('sequential with a completion condition: one user task at a time, stops when it holds', async () => {
    const instance = await scenario(
      await fixture('multi-instance.bpmn'),
      { variables: { carriers: [], approvers: ['ann', 'bob', 'cid'], rejected: false }, handlers: {} },
      async (i) => {
        assert.equal(i.userTasks.size, 1);
        assert.equal([...i.userTasks.values()][0]!.input.approver, 'ann');
        await i.completeUserTask('approvals', {});
        assert.equal([...i.userTasks.values()][0]!.input.approver, 'bob');
        await i.completeUserTask('approvals', { rejected: true });
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(effectsOf(instance, 'userTask.create').length, 2, 'cid was never asked');
    assert.deepEqual(instance.variables.quotes, [], 'an empty collection completes at once with an empty output');
  });

  it('a BpmnError in one inner instance is caught by the boundary on the body and terminates the others', async () => {
    const handlers = {
      quote: (input: Record<string, unknown>) => {
        if (input.carrierName === 'ups') throw new BpmnError('NO_QUOTE');
        return { price: 1 };
      },
    };
    const instance = await scenario(await fixture('multi-instance.bpmn'), {
      variables: { carriers, approvers: [] },
      handlers,
    });
    assert.equal(instance.state, 'completed');
    assert.equal(instance.completedElementIds.at(-1), 'failed');
    assert.ok(instance.elements.some((e) => e.elementId === 'quote' && e.state === 'terminated'));
  });

  it('an input collection that is not a list is an incident', async () => {
    const instance = await scenario(await fixture('multi-instance.bpmn'), { variables: { carriers: 'dhl' } });
    const [incident] = [...instance.incidents.values()];
    assert.equal(incident!.code, 'OPERON_ERR_FEEL_EVAL');
    assert.equal(incident!.elementId, 'quote');
  });

  it('a long sequential loop of instant inner instances does not recurse', async () => {
    const graph = structuredClone(await fixture('multi-instance.bpmn'));
    const { userTask: _userTask, ...approvals } = graph.elements.approvals as UserTask;
    graph.elements.approvals = { ...approvals, type: 'task' };
    delete approvals.multiInstance!.completionCondition;
    // About recursion, not time: a busy machine must not stop the step at its time budget.
    const instance = await scenario(graph, {
      variables: { carriers: [], approvers: Array.from({ length: 3000 }, (_, n) => n) },
      stepBudgetMs: 600_000,
    });
    assert.equal(instance.state, 'completed');
    assert.equal(effectsOf(instance, 'element.completed').filter((e) => e.elementId === 'approvals').length, 3001);
  });
});

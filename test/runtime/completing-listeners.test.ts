/**
 * Completing task listeners in the pure runtime (in memory, each scenario also restarted at every
 * step): a requested user task completion waits for their jobs, in order, and a job may deny it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitions, type ProcessGraph } from '../../engine/model/index.ts';
import { effectsOf, scenario, trail } from './scenario.ts';

async function reviewProcess(listeners: string, after = ''): Promise<ProcessGraph> {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review">
      <bpmn:extensionElements><zeebe:userTask /><zeebe:taskListeners>${listeners}</zeebe:taskListeners></bpmn:extensionElements>
    </bpmn:userTask>${after}
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;
  return (await parseDefinitions(xml, 'completing.bpmn'))[0]!;
}

const listener = (eventType: string, type: string) => `<zeebe:taskListener eventType="${eventType}" type="${type}" />`;

describe('completing task listeners', () => {
  it('run in order after the completion is requested; the task completes with the result after the last one', async () => {
    const graph = await reviewProcess(listener('completing', 'audit') + listener('complete', 'notify'));
    const instance = await scenario(graph, {}, async (i) => {
      await i.completeUserTask('review', { approved: true });
      // The task waits for the first listener's job, which sees the requested result.
      assert.ok(i.userTask('review'), 'the task is not completed yet');
      assert.equal([...i.jobs.values()][0]!.taskType, 'audit');
      assert.equal([...i.jobs.values()][0]!.listener, 'completing');
      assert.equal(i.state, 'active');
      await i.completeJob('review', { auditedBy: 'bot' });
      assert.equal([...i.jobs.values()][0]!.taskType, 'notify');
      await i.completeJob('review');
      assert.equal(i.userTask('review'), undefined);
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), ['start:completed', 'review:completed', 'end:completed']);
    // The listeners' variables join the completion's result.
    assert.deepEqual(instance.variables, { approved: true, auditedBy: 'bot' });
    assert.deepEqual(
      effectsOf(instance, 'job.create').map((job) => job.taskType),
      ['audit', 'notify'],
    );
    assert.equal(effectsOf(instance, 'userTask.completed').length, 1);
  });

  it('a denial (job result denied) rejects the completion: the later listeners do not run and the task stays open', async () => {
    const graph = await reviewProcess(
      listener('creating', 'enrich') + listener('completing', 'check') + listener('completing', 'notify'),
    );
    const instance = await scenario(graph, {}, async (i) => {
      await i.completeJob('review'); // the creating listener
      await i.completeUserTask('review', { approved: false });
      await i.completeJob('review', undefined, { denied: true, deniedReason: 'needs a second look' });
      assert.ok(i.userTask('review'), 'the task is open again');
      assert.equal(i.jobs.size, 0, 'no further listener job');
      // Completed again: the completing listeners run from the first.
      await i.completeUserTask('review', { approved: true });
      assert.equal([...i.jobs.values()][0]!.taskType, 'check');
      await i.completeJob('review');
      await i.completeJob('review');
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.variables, { approved: true });
    assert.deepEqual(effectsOf(instance, 'userTask.denied'), [
      {
        type: 'userTask.denied',
        elementInstanceKey: effectsOf(instance, 'userTask.denied')[0]!.elementInstanceKey,
        reason: 'needs a second look',
      },
    ]);
    assert.deepEqual(
      effectsOf(instance, 'job.create').map((job) => `${job.listener}:${job.taskType}`),
      ['creating:enrich', 'completing:check', 'completing:check', 'completing:notify'],
    );
  });

  it('an interrupting boundary timer during the listeners cancels their job and the task', async () => {
    const graph = await reviewProcess(
      listener('completing', 'audit'),
      `<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalated" /><bpmn:endEvent id="escalated" />`,
    );
    const instance = await scenario(graph, {}, async (i) => {
      await i.completeUserTask('review', { approved: true });
      await i.advanceClock(3_600_000);
      assert.equal(i.jobs.size, 0);
      assert.equal(i.userTask('review'), undefined);
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'review:terminated',
      'late:completed',
      'escalated:completed',
    ]);
    assert.equal(effectsOf(instance, 'userTask.cancel').length, 1);
    assert.deepEqual(instance.variables, {}, 'the requested result never applied');
  });

  it('a second completion while the listeners run is refused by the runtime', async () => {
    const graph = await reviewProcess(listener('completing', 'audit'));
    const instance = await scenario(graph, {}, async (i) => {
      await i.completeUserTask('review', { n: 1 });
      const second = await i.completeUserTask('review', { n: 2 });
      assert.match(second.ignored ?? '', /not waiting for a user task/);
      await i.completeJob('review');
    });
    assert.deepEqual(instance.variables, { n: 1 });
  });
});

describe('process properties', () => {
  it('zeebe:properties of the process are kept in the graph and handed to its own listener jobs', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:properties><zeebe:property name="team" value="payments" /><zeebe:property name="tier" value="gold" /></zeebe:properties>
      <zeebe:executionListeners><zeebe:executionListener eventType="start" type="open-case" /></zeebe:executionListeners>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;
    const graph = (await parseDefinitions(xml, 'properties.bpmn'))[0]!;
    assert.deepEqual(graph.properties, { team: 'payments', tier: 'gold' });
    const instance = await scenario(graph, {}, async (i) => {
      await i.completeJob('0');
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(
      effectsOf(instance, 'job.create').map((job) => [job.listener, job.properties]),
      [['start', { team: 'payments', tier: 'gold' }]],
    );
  });
});

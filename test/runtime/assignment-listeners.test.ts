/**
 * Assigning and updating task listeners in the pure runtime (in memory, each scenario also
 * restarted at every step): a requested assignment or update waits for their jobs, in order; a job
 * may deny it or correct it. And a multi-instance completion condition is evaluated after the
 * inner instance's end listeners, as in Zeebe.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitions, type ProcessGraph } from '../../engine/model/index.ts';
import type { Variables } from '../../engine/nodes/types.ts';
import { effectsOf, scenario } from './scenario.ts';

const definitions = (process: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    ${process}
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

async function reviewProcess(listeners: string, extra = ''): Promise<ProcessGraph> {
  const xml = definitions(`<bpmn:userTask id="review">
      <bpmn:extensionElements>${extra}<zeebe:userTask /><zeebe:taskListeners>${listeners}</zeebe:taskListeners></bpmn:extensionElements>
    </bpmn:userTask>`);
  return (await parseDefinitions(xml, 'assigning.bpmn'))[0]!;
}

const listener = (eventType: string, type: string) => `<zeebe:taskListener eventType="${eventType}" type="${type}" />`;

describe('assigning and updating task listeners', () => {
  it('an assignment waits for the assigning listeners, in order, and takes effect with their corrections', async () => {
    const graph = await reviewProcess(listener('assigning', 'check') + listener('assignment', 'notify'));
    const instance = await scenario(graph, {}, async (i) => {
      await i.assignUserTask('review', 'ann');
      const check = [...i.jobs.values()][0]!;
      assert.equal(check.taskType, 'check');
      assert.equal(check.listener, 'assigning');
      assert.equal(check.headers['io.camunda.zeebe:assignee'], 'ann', 'the job sees the requested assignee');
      assert.equal(check.headers['io.camunda.zeebe:changedAttributes'], '["assignee"]');
      assert.equal(i.userTask('review')!.created.assignee, undefined, 'not assigned yet');
      await i.completeJob('review', undefined, { corrections: { assignee: 'bob', priority: 80 } });
      const notify = [...i.jobs.values()][0]!;
      assert.equal(notify.taskType, 'notify');
      assert.equal(notify.headers['io.camunda.zeebe:assignee'], 'bob', 'the next job sees the correction');
      await i.completeJob('review');
      assert.equal(i.userTask('review')!.created.assignee, 'bob');
      assert.equal(i.userTask('review')!.created.priority, 80);
      assert.equal(i.jobs.size, 0);
      await i.completeUserTask('review');
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(
      effectsOf(instance, 'userTask.changed').map((e) => e.change),
      [{ assignee: 'bob', priority: 80 }],
    );
  });

  it('a denial leaves the task unchanged, and it can be assigned again', async () => {
    const graph = await reviewProcess(listener('assigning', 'check') + listener('assigning', 'notify'));
    const instance = await scenario(graph, {}, async (i) => {
      await i.assignUserTask('review', 'mallory');
      await i.completeJob('review', undefined, { denied: true, deniedReason: 'not in the team' });
      assert.equal(i.jobs.size, 0, 'the later listener does not run');
      assert.equal(i.userTask('review')!.created.assignee, undefined);
      await i.assignUserTask('review', 'ann');
      await i.completeJob('review');
      await i.completeJob('review');
      assert.equal(i.userTask('review')!.created.assignee, 'ann');
      await i.completeUserTask('review');
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(
      effectsOf(instance, 'userTask.changeDenied').map((e) => [e.event, e.reason]),
      [['assigning', 'not in the team']],
    );
  });

  it('an update waits for the updating listeners; a task without listeners for the event changes at once', async () => {
    const graph = await reviewProcess(listener('updating', 'reschedule'));
    const instance = await scenario(graph, {}, async (i) => {
      await i.assignUserTask('review', 'ann'); // no assigning listener: at once
      assert.equal(i.userTask('review')!.created.assignee, 'ann');
      assert.equal(i.jobs.size, 0);
      await i.updateUserTask('review', { dueDate: '2026-03-01T12:00:00.000Z', candidateGroups: ['risk'] });
      const job = [...i.jobs.values()][0]!;
      assert.equal(job.listener, 'updating');
      assert.equal(job.headers['io.camunda.zeebe:assignee'], 'ann');
      assert.equal(job.headers['io.camunda.zeebe:candidateGroups'], '["risk"]');
      // A completion meanwhile is refused by the runtime: the task is not waiting.
      const refused = await i.completeUserTask('review');
      assert.ok(refused.ignored);
      await i.completeJob(
        'review',
        { rescheduled: true },
        { corrections: { followUpDate: '2026-02-27T09:00:00.000Z' } },
      );
      assert.equal(i.userTask('review')!.created.dueDate, '2026-03-01T12:00:00.000Z');
      assert.equal(i.userTask('review')!.created.followUpDate, '2026-02-27T09:00:00.000Z');
      await i.completeUserTask('review');
    });
    assert.equal(instance.state, 'completed');
  });

  it('a listener job out of retries or throwing a BPMN error is an incident; resolving it runs the listener again', async () => {
    const graph = await reviewProcess(listener('assigning', 'check'));
    const instance = await scenario(graph, {}, async (i) => {
      await i.assignUserTask('review', 'ann');
      await i.throwJobError('review', 'NOPE');
      assert.equal(i.incidents.size, 1);
      await i.resolveIncident('review');
      assert.equal([...i.jobs.values()][0]!.taskType, 'check');
      await i.completeJob('review');
      assert.equal(i.userTask('review')!.created.assignee, 'ann');
      await i.completeUserTask('review');
    });
    assert.equal(instance.state, 'completed');
  });

  it('an interrupting boundary event while the listener runs cancels the task and the job; the change never applies', async () => {
    const xml = definitions(`<bpmn:userTask id="review">
      <bpmn:extensionElements><zeebe:userTask /><zeebe:taskListeners>${listener('assigning', 'check')}</zeebe:taskListeners></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="timedOut" /><bpmn:endEvent id="timedOut" />`);
    const graph = (await parseDefinitions(xml, 'assigning.bpmn'))[0]!;
    const instance = await scenario(graph, {}, async (i) => {
      await i.assignUserTask('review', 'ann');
      await i.advanceClock(3_600_000);
      assert.equal(i.jobs.size, 0);
      assert.equal(i.userTask('review'), undefined);
    });
    assert.equal(instance.state, 'completed');
    assert.equal(effectsOf(instance, 'userTask.changed').length, 0);
    assert.equal(effectsOf(instance, 'userTask.cancel').length, 1);
  });
});

describe('multi-instance completion condition and end listeners', () => {
  it("is evaluated after the inner instance's end listeners, which it sees (Zeebe's order)", async () => {
    const xml = definitions(`<bpmn:serviceTask id="review">
        <bpmn:extensionElements><zeebe:taskDefinition type="work" />
          <zeebe:executionListeners><zeebe:executionListener eventType="end" type="after" /></zeebe:executionListeners>
        </bpmn:extensionElements>
        <bpmn:multiInstanceLoopCharacteristics isSequential="true">
          <bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1, 2, 3]" inputElement="item" outputCollection="results" outputElement="=seen" /></bpmn:extensionElements>
          <bpmn:completionCondition>=stop = true</bpmn:completionCondition>
        </bpmn:multiInstanceLoopCharacteristics>
      </bpmn:serviceTask>`);
    const graph = (await parseDefinitions(xml, 'mi.bpmn'))[0]!;
    const instance = await scenario(graph, () => {
      const log: string[] = [];
      return {
        handlers: {
          work: (input: Variables) => {
            log.push(`work:${input.item}`);
          },
          // The end listener decides: stop after the second item; the output element sees its variable.
          after: (input: Variables) => {
            log.push(`after:${input.item}`);
            return { stop: input.item === 2, seen: `item ${input.item}` };
          },
        },
      };
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(
      effectsOf(instance, 'job.create').map((job) => job.taskType),
      ['work', 'after', 'work', 'after'],
      'the condition set by the second end listener stops the loop before the third item',
    );
    assert.deepEqual(instance.variables.results, ['item 1', 'item 2', null]);
  });
});

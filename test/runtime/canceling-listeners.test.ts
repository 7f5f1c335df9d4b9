/**
 * Canceling task listeners in the pure runtime (in memory, each scenario also restarted at every
 * step): a user task that is terminated runs their jobs, in order, and its element's termination
 * (and whatever waits for it) goes on once the last one completed, as in Camunda 8.8.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitions, type ProcessGraph } from '../../engine/model/index.ts';
import { migrateInstance } from '../../engine/runtime/index.ts';
import { effectsOf, scenario, trail } from './scenario.ts';

const definitions = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="m" name="stop"><bpmn:extensionElements><zeebe:subscription correlationKey="=key" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="p" isExecutable="true">${body}</bpmn:process>
</bpmn:definitions>`;

const listener = (eventType: string, type: string) => `<zeebe:taskListener eventType="${eventType}" type="${type}" />`;

/** A user task `review` (a Camunda user task) with these task listeners. */
const review = (listeners: string, id = 'review') =>
  `<bpmn:userTask id="${id}"><bpmn:extensionElements><zeebe:userTask /><zeebe:taskListeners>${listeners}</zeebe:taskListeners></bpmn:extensionElements></bpmn:userTask>`;

const canceling = listener('canceling', 'release-hold') + listener('cancel', 'notify-cancel');

async function graphOf(body: string): Promise<ProcessGraph> {
  return (await parseDefinitions(definitions(body), 'canceling.bpmn'))[0]!;
}

/** start -> review -> end, with an interrupting timer (PT1H) on the task leading to `timedOut`. */
const withTimer = (listeners: string) => `
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  ${review(listeners)}
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />
  <bpmn:boundaryEvent id="timeout" attachedToRef="review"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="timeout" targetRef="timedOut" /><bpmn:endEvent id="timedOut" />`;

describe('canceling task listeners', () => {
  it('an interrupting boundary event waits for them: their jobs run in order, then the task is cancelled and the boundary path goes on', async () => {
    const graph = await graphOf(withTimer(canceling));
    const instance = await scenario(graph, { variables: { key: 'k' } }, async (i) => {
      await i.advanceClock(3_600_000);
      // The task is held: canceling, its first listener's job open, the boundary path not taken yet.
      assert.equal(i.userTask('review')?.canceling, true);
      const first = [...i.jobs.values()];
      assert.deepEqual(
        first.map((j) => [j.taskType, j.listener]),
        [['release-hold', 'canceling']],
      );
      assert.equal(i.state, 'active');
      assert.equal(effectsOf(i, 'element.activated').filter((e) => e.elementId === 'timeout').length, 0);
      await i.completeJob('review');
      assert.equal([...i.jobs.values()][0]!.taskType, 'notify-cancel');
      assert.ok(i.userTask('review'), 'the task is still there until the last canceling listener completed');
      await i.completeJob('review');
      assert.equal(i.userTask('review'), undefined);
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'review:terminated',
      'timeout:completed',
      'timedOut:completed',
    ]);
    assert.equal(effectsOf(instance, 'userTask.canceling').length, 1);
    assert.equal(effectsOf(instance, 'userTask.cancel').length, 1);
    // The task was cancelled before its element ended, and the element ended before the boundary event started.
    const order = instance.history
      .filter(
        (e) =>
          e.type === 'userTask.cancel' ||
          (e.type === 'element.terminated' && e.elementId === 'review') ||
          (e.type === 'element.activated' && e.elementId === 'timeout'),
      )
      .map((e) => e.type);
    assert.deepEqual(order, ['userTask.cancel', 'element.terminated', 'element.activated']);
  });

  it('a process instance cancellation waits for them: the instance ends once the last job completed', async () => {
    const graph = await graphOf(withTimer(listener('canceling', 'release-hold')));
    const instance = await scenario(graph, { variables: { key: 'k' } }, async (i) => {
      await i.cancel();
      assert.equal(i.state, 'active', 'held by the canceling listener');
      assert.equal([...i.jobs.values()][0]!.listener, 'canceling');
      // A second cancellation, a completion or a modification changes nothing meanwhile.
      assert.match((await i.cancel()).ignored ?? '', /being cancelled/);
      assert.match(
        (await i.send({ type: 'userTask.completed', elementInstanceKey: i.userTask('review')!.elementInstanceKey }))
          .ignored ?? '',
        /being cancelled/,
      );
      // Nor is the instance migrated while the termination is held.
      const plan = migrateInstance(graph, graph, i.snapshot, [], { now: i.now });
      assert.equal(plan.ok, false);
      assert.match(plan.ok ? '' : plan.reason, /being terminated/);
      await i.completeJob('review');
    });
    assert.equal(instance.state, 'terminated');
    assert.deepEqual(trail(instance), ['start:completed', 'review:terminated']);
    assert.equal(effectsOf(instance, 'timer.cancel').length, 1, 'the boundary timer ended with the cancellation');
  });

  it('an interrupting event subprocess starts once the task inside its scope was cancelled', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
      ${review(listener('canceling', 'release-hold'))}
      <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />
      <bpmn:subProcess id="onStop" triggeredByEvent="true">
        <bpmn:startEvent id="stopStart"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
        <bpmn:sequenceFlow id="s1" sourceRef="stopStart" targetRef="stopped" /><bpmn:endEvent id="stopped" />
      </bpmn:subProcess>`);
    const instance = await scenario(graph, { variables: { key: 'k' } }, async (i) => {
      assert.equal(await i.publishMessage('stop', 'k'), true);
      assert.equal(effectsOf(i, 'element.activated').filter((e) => e.elementId === 'onStop').length, 0);
      await i.completeJob('review');
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'review:terminated',
      'onStop:completed',
      'stopStart:completed',
      'stopped:completed',
    ]);
  });

  it('a terminate end event completes its scope once the other branch task was cancelled', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
      <bpmn:parallelGateway id="fork" />
      <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="review" />
      <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="wait" />
      ${review(listener('canceling', 'release-hold'))}
      <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />
      <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f5" sourceRef="wait" targetRef="kill" />
      <bpmn:endEvent id="kill"><bpmn:terminateEventDefinition /></bpmn:endEvent>`);
    const instance = await scenario(graph, { variables: { key: 'k' } }, async (i) => {
      await i.publishMessage('stop', 'k');
      assert.equal(i.state, 'active', 'the process waits for the canceling listener');
      await i.completeJob('review');
    });
    assert.equal(instance.state, 'completed');
    assert.ok(trail(instance).includes('review:terminated'));
    assert.ok(trail(instance).includes('kill:completed'));
  });

  it('a boundary event on a subprocess waits for the task inside it; a completion in progress is dropped', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub" />
      <bpmn:subProcess id="sub">
        <bpmn:startEvent id="subStart" /><bpmn:sequenceFlow id="s1" sourceRef="subStart" targetRef="review" />
        ${review(listener('completing', 'check') + listener('canceling', 'release-hold'))}
        <bpmn:sequenceFlow id="s2" sourceRef="review" targetRef="subEnd" /><bpmn:endEvent id="subEnd" />
      </bpmn:subProcess>
      <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end" /><bpmn:endEvent id="end" />
      <bpmn:boundaryEvent id="stop" attachedToRef="sub"><bpmn:messageEventDefinition messageRef="m" /></bpmn:boundaryEvent>
      <bpmn:sequenceFlow id="f3" sourceRef="stop" targetRef="stopped" /><bpmn:endEvent id="stopped" />`);
    const instance = await scenario(graph, { variables: { key: 'k' } }, async (i) => {
      await i.completeUserTask('review', { approved: true });
      assert.equal([...i.jobs.values()][0]!.listener, 'completing');
      await i.publishMessage('stop', 'k');
      // The completing listener's job is cancelled; the canceling listener's job runs in its place.
      assert.deepEqual(
        [...i.jobs.values()].map((j) => j.taskType),
        ['release-hold'],
      );
      await i.completeJob('review', { ignored: true });
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'sub:terminated',
      'subStart:completed',
      'review:terminated',
      'stop:completed',
      'stopped:completed',
    ]);
    assert.deepEqual(instance.variables, { key: 'k' }, 'neither the dropped result nor the listener variables apply');
  });

  it('cannot deny the cancellation; a BPMN error from the job is an incident whose resolution runs it again', async () => {
    const graph = await graphOf(withTimer(listener('canceling', 'release-hold')));
    const instance = await scenario(graph, { variables: { key: 'k' } }, async (i) => {
      await i.cancel();
      const denied = await i.completeJob('review', undefined, { denied: true, deniedReason: 'no' });
      assert.match(denied.ignored ?? '', /cannot deny/);
      await i.throwJobError('review', 'NOPE');
      assert.equal([...i.incidents.values()][0]!.code, 'OPERON_ERR_UNCAUGHT_BPMN_ERROR');
      await i.resolveIncident('review');
      assert.equal([...i.jobs.values()][0]!.taskType, 'release-hold');
      await i.completeJob('review');
    });
    assert.equal(instance.state, 'terminated');
    assert.equal(effectsOf(instance, 'job.create').filter((j) => j.listener === 'canceling').length, 2);
  });

  it('a modification that terminates the task runs them; without a user task yet (start listeners) they do not run', async () => {
    const graph = await graphOf(withTimer(canceling));
    const modified = await scenario(graph, { variables: { key: 'k' } }, async (i) => {
      const key = i.userTask('review')!.elementInstanceKey;
      await i.send({ type: 'instance.modify', terminate: [key], activate: ['end'] });
      assert.equal(i.state, 'active', 'the end event completed, the held task keeps the process going');
      await i.completeJob('review');
      await i.completeJob('review');
    });
    assert.equal(modified.state, 'completed');
    assert.deepEqual(trail(modified), ['start:completed', 'review:terminated', 'end:completed']);

    const early = await graphOf(
      withTimer(canceling).replace(
        '<zeebe:userTask />',
        '<zeebe:userTask /><zeebe:executionListeners><zeebe:executionListener eventType="start" type="prepare" /></zeebe:executionListeners>',
      ),
    );
    const cancelled = await scenario(early, { variables: { key: 'k' } }, async (i) => {
      assert.equal([...i.jobs.values()][0]!.listener, 'start');
      await i.cancel();
    });
    assert.equal(cancelled.state, 'terminated');
    assert.equal(effectsOf(cancelled, 'job.create').filter((j) => j.listener === 'canceling').length, 0);
  });

  it('a multi-instance task whose completion condition holds ends once the other instances were cancelled', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
      <bpmn:userTask id="review">
        <bpmn:extensionElements><zeebe:userTask /><zeebe:taskListeners>${listener('canceling', 'release-hold')}</zeebe:taskListeners></bpmn:extensionElements>
        <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1,2]" inputElement="n" /></bpmn:extensionElements>
          <bpmn:completionCondition>= approved = true</bpmn:completionCondition>
        </bpmn:multiInstanceLoopCharacteristics>
      </bpmn:userTask>
      <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />`);
    const instance = await scenario(graph, {}, async (i) => {
      const [first] = [...i.userTasks.keys()];
      await i.completeUserTask(first!, { approved: true });
      assert.equal(i.state, 'active', 'the body waits for the other instance to be cancelled');
      assert.equal([...i.jobs.values()].length, 1);
      await i.completeJob([...i.jobs.keys()][0]!);
    });
    assert.equal(instance.state, 'completed');
    assert.equal(trail(instance).filter((t) => t === 'review:terminated').length, 1);
    assert.ok(trail(instance).includes('end:completed'));
  });
});

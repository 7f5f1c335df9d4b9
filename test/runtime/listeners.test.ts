/**
 * Execution listeners and creating task listeners in the pure runtime (in memory, each scenario
 * also restarted at every step): jobs the element waits for, in order, as Camunda 8 runs them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitions, type ProcessGraph } from '../../engine/model/index.ts';
import type { Variables } from '../../engine/nodes/types.ts';
import { scenario } from './scenario.ts';

const definitions = (process: string, roots = '') => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">${process}</bpmn:process>${roots}
</bpmn:definitions>`;

const el = (...entries: Array<[string, string]>) =>
  `<zeebe:executionListeners>${entries
    .map(([eventType, type]) => `<zeebe:executionListener eventType="${eventType}" type="${type}" />`)
    .join('')}</zeebe:executionListeners>`;

async function graphOf(process: string, roots = ''): Promise<ProcessGraph> {
  return (await parseDefinitions(definitions(process, roots), 'listeners.bpmn'))[0]!;
}

/** Handlers that record which job ran, with the item of a multi-instance, in one shared log per run. */
function recording(types: string[], output: (type: string, input: Variables) => Variables | void = () => {}) {
  return () => {
    const log: string[] = [];
    const handlers = Object.fromEntries(
      types.map((type) => [
        type,
        (input: Variables) => {
          log.push(input.item === undefined ? type : `${type}:${input.item}`);
          return output(type, input);
        },
      ]),
    );
    return { handlers, log };
  };
}

describe('execution listeners', () => {
  it('run around each inner instance of a multi-instance activity, not around its body', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
      <bpmn:serviceTask id="task">
        <bpmn:extensionElements><zeebe:taskDefinition type="work" />${el(['start', 'before'], ['end', 'after'])}</bpmn:extensionElements>
        <bpmn:multiInstanceLoopCharacteristics isSequential="true">
          <bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1, 2]" inputElement="item" /></bpmn:extensionElements>
        </bpmn:multiInstanceLoopCharacteristics>
      </bpmn:serviceTask>
      <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" /><bpmn:endEvent id="end" />`);
    let log: string[] = [];
    const instance = await scenario(graph, () => {
      const r = recording(['before', 'work', 'after'])();
      log = r.log;
      return { handlers: r.handlers };
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(log, ['before:1', 'work:1', 'after:1', 'before:2', 'work:2', 'after:2']);
  });

  it("boundary events end with the element's own work, before its end listeners run", async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
      <bpmn:userTask id="task"><bpmn:extensionElements>${el(['end', 'after'])}</bpmn:extensionElements></bpmn:userTask>
      <bpmn:boundaryEvent id="late" attachedToRef="task"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" /><bpmn:endEvent id="end" />
      <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="timedOut" /><bpmn:endEvent id="timedOut" />`);
    const instance = await scenario(graph, {}, async (i) => {
      await i.completeUserTask('task');
      // The boundary timer ended with the task's own work: the end listener's job waits alone.
      assert.equal(i.timers.size, 0);
      assert.equal([...i.jobs.values()][0]?.listener, 'end');
      await i.completeJob('task', { reviewed: true });
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.variables, { reviewed: true });
  });

  it('a start listener job open when the instance is cancelled is cancelled with it', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
      <bpmn:task id="task"><bpmn:extensionElements>${el(['start', 'before'])}</bpmn:extensionElements></bpmn:task>
      <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" /><bpmn:endEvent id="end" />`);
    const instance = await scenario(graph, {}, async (i) => {
      assert.equal(i.jobs.size, 1);
      await i.cancel();
    });
    assert.equal(instance.state, 'terminated');
    assert.ok(instance.history.some((e) => e.type === 'job.cancel' && e.elementInstanceKey !== '0'));
    assert.equal(instance.jobs.size, 0);
  });

  it('a BPMN error thrown by a listener job is an incident; resolving it runs the listener again', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
      <bpmn:task id="task"><bpmn:extensionElements>${el(['start', 'check'])}</bpmn:extensionElements></bpmn:task>
      <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" /><bpmn:endEvent id="end" />`);
    const instance = await scenario(graph, {}, async (i) => {
      await i.throwJobError('task', 'NOPE');
      const incident = [...i.incidents.values()][0]!;
      assert.equal(incident.elementId, 'task');
      assert.match(incident.message, /listener jobs cannot throw BPMN errors/);
      await i.resolveIncident('task');
      await i.completeJob('task');
    });
    assert.equal(instance.state, 'completed');
  });

  it('a listener job out of retries is an incident on its element; resolving it retries the job', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
      <bpmn:task id="task"><bpmn:extensionElements><zeebe:executionListeners><zeebe:executionListener eventType="end" type="flaky" retries="1" /></zeebe:executionListeners></bpmn:extensionElements></bpmn:task>
      <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" /><bpmn:endEvent id="end" />`);
    const instance = await scenario(
      graph,
      () => {
        let calls = 0;
        return {
          handlers: {
            flaky: () => {
              calls += 1;
              if (calls === 1) throw new Error('down');
              return { done: calls };
            },
          },
        };
      },
      async (i) => {
        assert.equal([...i.incidents.values()][0]?.elementId, 'task');
        await i.resolveIncident('task');
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.variables, { done: 2 });
  });

  it("the process's start listeners run before its start event; a listener type that fails in FEEL is an incident on the process", async () => {
    const graph = await graphOf(`
      <bpmn:extensionElements><zeebe:executionListeners>
        <zeebe:executionListener eventType="start" type="=&quot;open-&quot; + kind" />
      </zeebe:executionListeners></bpmn:extensionElements>
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" /><bpmn:endEvent id="end" />`);
    const instance = await scenario(graph, { variables: {} }, async (i) => {
      const incident = [...i.incidents.values()][0]!;
      assert.equal(incident.elementInstanceKey, '0');
      assert.equal(i.elements.length, 0, 'nothing ran before the start listeners');
      await i.resolveIncident('0', { kind: 'loan' });
      assert.equal([...i.jobs.values()][0]?.taskType, 'open-loan');
      await i.completeJob('0', { opened: true });
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.variables, { kind: 'loan', opened: true });
  });

  it('an event subprocess runs its start listeners before its start event', async () => {
    const graph = await graphOf(
      `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
      <bpmn:userTask id="wait" /><bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" /><bpmn:endEvent id="end" />
      <bpmn:subProcess id="esp" triggeredByEvent="true">
        <bpmn:extensionElements>${el(['start', 'esp-start'])}</bpmn:extensionElements>
        <bpmn:startEvent id="espStart" isInterrupting="false"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
        <bpmn:sequenceFlow id="e1" sourceRef="espStart" targetRef="espEnd" /><bpmn:endEvent id="espEnd" />
      </bpmn:subProcess>`,
      '<bpmn:message id="m" name="ping"><bpmn:extensionElements><zeebe:subscription correlationKey="=&quot;k&quot;" /></bpmn:extensionElements></bpmn:message>',
    );
    const instance = await scenario(graph, {}, async (i) => {
      assert.ok(await i.publishMessage('ping', 'k', { pinged: 1 }));
      assert.equal([...i.jobs.values()][0]?.taskType, 'esp-start');
      assert.ok(!i.completedElementIds.includes('espStart'));
      await i.completeJob('esp');
      await i.completeUserTask('wait');
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['start', 'espStart', 'espEnd', 'esp', 'wait', 'end']);
    assert.deepEqual(instance.variables, { pinged: 1 });
  });
});

describe('user tasks', () => {
  it('run creating listeners before the task is offered, and carry candidates, dates, priority and properties', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
      <bpmn:userTask id="review" name="Review">
        <bpmn:extensionElements>
          <zeebe:assignmentDefinition candidateUsers="=reviewers" candidateGroups="risk" />
          <zeebe:taskSchedule dueDate="=due" followUpDate="2026-01-02T09:00:00+01:00" />
          <zeebe:properties><zeebe:property name="queue" value="loans" /></zeebe:properties>
          <zeebe:userTask /><zeebe:taskListeners><zeebe:taskListener eventType="creating" type="enrich" /></zeebe:taskListeners>
        </bpmn:extensionElements>
      </bpmn:userTask>
      <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />`);
    const instance = await scenario(
      graph,
      {
        variables: { due: '2026-01-05T17:00:00Z' },
        handlers: { enrich: () => ({ reviewers: ['ann', 'bob'] }) },
      },
      async (i) => {
        const task = i.userTask('review')!;
        assert.deepEqual(task.created, {
          name: 'Review',
          candidateGroups: ['risk'],
          candidateUsers: ['ann', 'bob'],
          dueDate: '2026-01-05T17:00:00.000Z',
          followUpDate: '2026-01-02T08:00:00.000Z',
          priority: 50,
          properties: { queue: 'loans' },
        });
        await i.completeUserTask('review');
      },
    );
    assert.equal(instance.state, 'completed');
    const job = instance.history.find((e) => e.type === 'job.create');
    assert.equal(job?.type === 'job.create' && job.listener, 'creating');
    assert.deepEqual(job?.type === 'job.create' && job.properties, { queue: 'loans' });
    // The creating listener's variables were local to the task.
    assert.deepEqual(instance.variables, { due: '2026-01-05T17:00:00Z' });
  });

  it('a due date expression that gives no date-time is an incident on the task', async () => {
    const graph = await graphOf(`
      <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
      <bpmn:userTask id="review"><bpmn:extensionElements><zeebe:taskSchedule dueDate="=due" /><zeebe:priorityDefinition priority="=p" /><zeebe:userTask /><zeebe:taskListeners><zeebe:taskListener eventType="creating" type="enrich" /></zeebe:taskListeners></bpmn:extensionElements></bpmn:userTask>
      <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />`);
    let enriched = 0;
    const instance = await scenario(
      graph,
      () => {
        enriched = 0;
        return { variables: { due: 'soon', p: 10 }, handlers: { enrich: () => void (enriched += 1) } };
      },
      async (i) => {
        assert.match([...i.incidents.values()][0]!.message, /dueDate "=due".*expected an ISO 8601 date-time/);
        await i.resolveIncident('review', { due: '2026-02-01T00:00:00Z' });
        assert.equal(i.userTask('review')!.created.priority, 10);
      },
    );
    assert.equal(instance.state, 'active');
    assert.equal(enriched, 1, 'resolving the incident does not run the creating listener again');
  });
});

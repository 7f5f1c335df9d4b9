/**
 * zeebe:executionListeners, zeebe:taskListeners, zeebe:properties and the user task's candidates,
 * schedule and priority at deployment: what is read, and what Zeebe refuses is refused too, naming
 * the element.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OperonError } from '../../engine/errors.ts';
import { parseDefinitions } from '../../engine/model/index.ts';
import { userTaskOf, type UserTask } from '../../engine/model/graph.ts';

const model = (body: string, processExtensions = '') => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">${processExtensions ? `<bpmn:extensionElements>${processExtensions}</bpmn:extensionElements>` : ''}
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="x" />
    ${body}
    <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

const listeners = (...entries: Array<[string, string]>) =>
  `<bpmn:extensionElements><zeebe:executionListeners>${entries
    .map(([eventType, type]) => `<zeebe:executionListener eventType="${eventType}" type="${type}" />`)
    .join('')}</zeebe:executionListeners></bpmn:extensionElements>`;

async function refused(xml: string, code: string, elementId: string, message: RegExp): Promise<void> {
  await assert.rejects(parseDefinitions(xml, 'l.bpmn'), (error: OperonError) => {
    assert.equal(error.code, code, error.message);
    assert.equal(error.details.elementId, elementId);
    assert.match(error.message, message);
    return true;
  });
}

describe('execution listeners at deployment', () => {
  it('are read on the process, and bound like task jobs (deploy-time node validation)', async () => {
    const [graph] = await parseDefinitions(
      model(
        `<bpmn:serviceTask id="x">${listeners(['start', 'audit'], ['end', 'log']).replace(
          '<zeebe:executionListeners>',
          '<zeebe:taskDefinition type="work" /><zeebe:executionListeners>',
        )}</bpmn:serviceTask>`,
        '<zeebe:executionListeners><zeebe:executionListener eventType="end" type="closing" retries="1" /></zeebe:executionListeners>',
      ),
      'l.bpmn',
    );
    assert.deepEqual(graph!.listeners, { end: [{ type: 'closing', retries: 1 }] });
    assert.deepEqual(
      graph!.serviceTasks.map((t) => [t.elementId, t.taskType, t.listener]),
      [
        ['x', 'work', undefined],
        ['x', 'audit', 'start'],
        ['x', 'log', 'end'],
        ['p', 'closing', 'end'],
      ],
    );
  });

  it('default to eventType start, as in Zeebe', async () => {
    const xml = model(
      '<bpmn:task id="x"><bpmn:extensionElements><zeebe:executionListeners><zeebe:executionListener type="audit" /></zeebe:executionListeners></bpmn:extensionElements></bpmn:task>',
    );
    const [graph] = await parseDefinitions(xml, 'l.bpmn');
    assert.deepEqual(graph!.elements.x!.listeners, { start: [{ type: 'audit', retries: 3 }] });
  });

  const REFUSED: Array<[string, string, string, RegExp]> = [
    [
      'on a sequence flow',
      model('<bpmn:task id="x" />').replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end" />',
        `<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end">${listeners(['start', 'a'])}</bpmn:sequenceFlow>`,
      ),
      'f2',
      /sequence flow "f2".*not support/,
    ],
    [
      'start listeners on a start event',
      model('<bpmn:task id="x" />').replace(
        '<bpmn:startEvent id="start" />',
        `<bpmn:startEvent id="start">${listeners(['start', 'a'])}</bpmn:startEvent>`,
      ),
      'start',
      /start execution listeners.*start events/,
    ],
    [
      'end listeners on a gateway',
      model(`<bpmn:exclusiveGateway id="x">${listeners(['end', 'a'])}</bpmn:exclusiveGateway>`),
      'x',
      /end execution listeners.*gateways/,
    ],
    [
      'end listeners on an error end event',
      model('<bpmn:task id="x" />', '')
        .replace(
          '<bpmn:endEvent id="end" />',
          `<bpmn:endEvent id="end">${listeners(['end', 'a'])}<bpmn:errorEventDefinition id="e" errorRef="err" /></bpmn:endEvent>`,
        )
        .replace('</bpmn:process>', '</bpmn:process><bpmn:error id="err" errorCode="E" />'),
      'end',
      /end execution listeners.*error end events/,
    ],
  ];
  for (const [name, xml, elementId, message] of REFUSED) {
    it(`are refused ${name}, as Zeebe refuses them`, () =>
      refused(xml, 'OPERON_ERR_BPMN_UNSUPPORTED', elementId, message));
  }

  it('are refused twice with the same event type and job type', () =>
    refused(
      model(`<bpmn:task id="x">${listeners(['start', 'a'], ['end', 'a'], ['start', 'a'])}</bpmn:task>`),
      'OPERON_ERR_BPMN_INVALID',
      'x',
      /two execution listeners with eventType "start" and type "a"/,
    ));

  it('are refused without a type or with an unknown event type', async () => {
    await refused(
      model(
        '<bpmn:task id="x"><bpmn:extensionElements><zeebe:executionListeners><zeebe:executionListener eventType="start" /></zeebe:executionListeners></bpmn:extensionElements></bpmn:task>',
      ),
      'OPERON_ERR_BPMN_INVALID',
      'x',
      /needs a type/,
    );
    await refused(
      model(`<bpmn:task id="x">${listeners(['take', 'a'])}</bpmn:task>`),
      'OPERON_ERR_BPMN_INVALID',
      'x',
      /eventType "take"/,
    );
  });
});

describe('user tasks at deployment', () => {
  const userTask = (extensions: string) =>
    model(`<bpmn:userTask id="x"><bpmn:extensionElements>${extensions}</bpmn:extensionElements></bpmn:userTask>`);

  it('keep candidate users and groups, due and follow-up dates, priority and properties', async () => {
    const [graph] = await parseDefinitions(
      userTask(
        '<zeebe:assignmentDefinition candidateGroups="sales, risk" candidateUsers="=reviewers" />' +
          '<zeebe:taskSchedule dueDate="2026-03-01T12:00:00Z" followUpDate="=now() + duration(&quot;P1D&quot;)" />' +
          '<zeebe:priorityDefinition priority="80" />' +
          '<zeebe:properties><zeebe:property name="queue" value="loans" /><zeebe:property name="sla" value="4h" /></zeebe:properties>' +
          '<zeebe:userTask /><zeebe:taskListeners><zeebe:taskListener eventType="creating" type="enrich" /></zeebe:taskListeners>',
      ),
      'l.bpmn',
    );
    const x = graph!.elements.x as UserTask;
    assert.deepEqual(x.userTask, {
      candidateGroups: ['sales', 'risk'],
      candidateUsers: ['=reviewers'],
      dueDate: '2026-03-01T12:00:00Z',
      followUpDate: '=now() + duration("P1D")',
      priority: '80',
      creatingListeners: [{ type: 'enrich', retries: 3 }],
    });
    assert.deepEqual(x.properties, { queue: 'loans', sla: '4h' });
  });

  it('refuse a due date that is not a date-time and a priority outside 0..100', async () => {
    await refused(
      userTask('<zeebe:taskSchedule dueDate="tomorrow" />'),
      'OPERON_ERR_BPMN_INVALID',
      'x',
      /dueDate "tomorrow"/,
    );
    await refused(
      userTask('<zeebe:priorityDefinition priority="101" />'),
      'OPERON_ERR_BPMN_INVALID',
      'x',
      /priority "101"/,
    );
  });

  it('read assigning, updating and completing listeners, with the names before Camunda 8.8', async () => {
    const [graph] = await parseDefinitions(
      userTask(
        '<zeebe:userTask /><zeebe:taskListeners><zeebe:taskListener eventType="assigning" type="a" /><zeebe:taskListener eventType="assignment" type="b" />' +
          '<zeebe:taskListener eventType="update" type="u" /><zeebe:taskListener eventType="completing" type="c" /></zeebe:taskListeners>',
      ),
      'l.bpmn',
    );
    assert.deepEqual((graph!.elements.x as UserTask).userTask, {
      assigningListeners: [
        { type: 'a', retries: 3 },
        { type: 'b', retries: 3 },
      ],
      updatingListeners: [{ type: 'u', retries: 3 }],
      completingListeners: [{ type: 'c', retries: 3 }],
    });
    assert.deepEqual(
      graph!.serviceTasks.map((t) => [t.taskType, t.listener]),
      [
        ['a', 'assigning'],
        ['b', 'assigning'],
        ['u', 'updating'],
        ['c', 'completing'],
      ],
    );
  });

  it('refuse a task listener without eventType, with an unknown one or without a type, as Zeebe does', async () => {
    const one = (attributes: string) =>
      userTask(`<zeebe:userTask /><zeebe:taskListeners><zeebe:taskListener ${attributes} /></zeebe:taskListeners>`);
    await refused(one('type="check"'), 'OPERON_ERR_BPMN_INVALID', 'x', /task listener without an eventType/);
    await refused(one('eventType="" type="check"'), 'OPERON_ERR_BPMN_INVALID', 'x', /without an eventType/);
    await refused(one('eventType="claiming" type="check"'), 'OPERON_ERR_BPMN_INVALID', 'x', /eventType "claiming"/);
    await refused(one('eventType="assigning"'), 'OPERON_ERR_BPMN_INVALID', 'x', /task listener needs a type/);
    await refused(one('eventType="updating" type=" "'), 'OPERON_ERR_BPMN_INVALID', 'x', /needs a type/);
  });

  it('read canceling listeners (cancel before Camunda 8.8)', async () => {
    const [graph] = await parseDefinitions(
      userTask(
        '<zeebe:userTask /><zeebe:taskListeners><zeebe:taskListener eventType="canceling" type="c1" />' +
          '<zeebe:taskListener eventType="cancel" type="c2" retries="1" /></zeebe:taskListeners>',
      ),
      'l.bpmn',
    );
    assert.deepEqual(userTaskOf(graph, 'x'), {
      cancelingListeners: [
        { type: 'c1', retries: 3 },
        { type: 'c2', retries: 1 },
      ],
    });
    assert.deepEqual(
      graph!.serviceTasks.map((t) => [t.taskType, t.listener]),
      [
        ['c1', 'canceling'],
        ['c2', 'canceling'],
      ],
    );
  });

  it('refuse task listeners on a user task without zeebe:userTask (a job-worker user task), as Zeebe does', () =>
    refused(
      userTask('<zeebe:taskListeners><zeebe:taskListener eventType="creating" type="check" /></zeebe:taskListeners>'),
      'OPERON_ERR_BPMN_INVALID',
      'x',
      /task listeners but no zeebe:userTask/,
    ));
});

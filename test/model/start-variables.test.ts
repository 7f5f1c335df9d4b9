/** Start variables declared on a start event (operon:input:* properties): parsed at deploy time, checked before a start. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDefinitions } from '../../engine/model/index.ts';
import { checkStartVariables } from '../../engine/model/start-variables.ts';
import { parseVariableSpec } from '../../engine/model/typed-variables.ts';
import type { OperonError } from '../../engine/errors.ts';

const bpmn = (properties: string, on: 'start' | 'task' = 'start') => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="http://example.com">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="Start">${on === 'start' ? `<bpmn:extensionElements><zeebe:properties>${properties}</zeebe:properties></bpmn:extensionElements>` : ''}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="Task">${on === 'task' ? `<bpmn:extensionElements><zeebe:properties>${properties}</zeebe:properties></bpmn:extensionElements>` : ''}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>
    <bpmn:endEvent id="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Task" />
    <bpmn:sequenceFlow id="f2" sourceRef="Task" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>`;

const property = (name: string, value: string) => `<zeebe:property name="operon:input:${name}" value="${value}" />`;

test('the compact spelling: type, bounds, enum values, optional', () => {
  assert.deepEqual(parseVariableSpec('number min=0 max=1e8'), { type: 'number', min: 0, max: 1e8 });
  assert.deepEqual(parseVariableSpec('enum a|b-c|d optional'), {
    type: 'enum',
    values: ['a', 'b-c', 'd'],
    optional: true,
  });
  assert.deepEqual(parseVariableSpec('text maxChars=4000'), { type: 'text', maxChars: 4000 });
  for (const bad of [
    '',
    'float',
    'number min=x',
    'number min=5 max=1',
    'string min=1',
    'enum',
    'number large',
    'text maxChars=0',
  ]) {
    assert.throws(() => parseVariableSpec(bad), Error, bad);
  }
});

test('declarations reach the graph; other properties are left alone', async () => {
  const [graph] = await parseDefinitions(
    bpmn(
      `${property('income', 'number min=0') + property('employment', 'enum permanent|contract')}<zeebe:property name="color" value="blue" />`,
    ),
    'p.bpmn',
  );
  assert.deepEqual(graph!.startEvents[0]!.variables, {
    income: { type: 'number', min: 0 },
    employment: { type: 'enum', values: ['permanent', 'contract'] },
  });
});

test('a bad declaration fails deployment naming the element and the variable', async () => {
  for (const [xml, message] of [
    [bpmn(property('income', 'number min=ten')), /income.*min=ten/],
    [bpmn(property('income', 'number') + property('income', 'string')), /declared twice/],
    [bpmn(property('in come', 'number')), /does not name a variable/],
    [bpmn(property('income', 'number'), 'task'), /belong on a none or message start event/],
  ] as const) {
    await assert.rejects(parseDefinitions(xml, 'p.bpmn'), (error: OperonError) => {
      assert.equal(error.code, 'OPERON_ERR_BPMN_INVALID');
      assert.equal(
        error.details.elementId,
        xml.includes('<bpmn:task id="Task"><bpmn:extensionElements>') ? 'Task' : 'Start',
      );
      assert.match(error.message, message);
      return true;
    });
  }
});

test('a start is refused naming the first variable that does not match; undeclared variables pass', async () => {
  const [graph] = await parseDefinitions(
    bpmn(
      property('income', 'number min=0') +
        property('term', 'integer min=1 max=600') +
        property('note', 'string maxChars=5 optional'),
    ),
    'p.bpmn',
  );
  assert.doesNotThrow(() => checkStartVariables(graph!, undefined, { income: 1, term: 12, anything: 'else' }));
  for (const [variables, field] of [
    [{ income: '1', term: 12 }, 'income'],
    [{ income: 1, term: 0 }, 'term'],
    [{ income: 1, term: 1.5 }, 'term'],
    [{ term: 12 }, 'income'],
    [{ income: 1, term: 12, note: 'too long' }, 'note'],
  ] as const) {
    assert.throws(
      () => checkStartVariables(graph!, undefined, variables),
      (error: OperonError) => {
        assert.equal(error.code, 'OPERON_ERR_START_VARIABLES');
        assert.equal(error.statusCode, 400);
        assert.equal(error.details.field, field);
        return true;
      },
    );
  }
});

/** Concurrency limits in the model (operon:maxConcurrent, operon:capacity): parsed at deploy, the limits each new job is under. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDefinitions } from '../../engine/model/index.ts';
import { jobLimitsOf, parseProcessCapacity } from '../../engine/model/job-limits.ts';

const bpmn = (processProperties: string, taskProperties: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="http://example.com">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:extensionElements><zeebe:properties>${processProperties}</zeebe:properties></bpmn:extensionElements>
    <bpmn:startEvent id="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Bureau">
      <bpmn:extensionElements><zeebe:taskDefinition type="bot:credit-bureau" /><zeebe:properties>${taskProperties}</zeebe:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Bureau" />
    <bpmn:sequenceFlow id="f2" sourceRef="Bureau" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>`;

const property = (name: string, value: string) => `<zeebe:property name="${name}" value="${value}" />`;

test('a job is under its task limit and every process limit that covers its type', async () => {
  const [graph] = await parseDefinitions(
    bpmn(
      property('operon:maxConcurrent', '5') + property('operon:capacity', 'bot=2, bot:credit-bureau=1, http=3'),
      property('operon:maxConcurrent', ' 1 '),
    ),
    'limits.bpmn',
  );
  assert.deepEqual(graph!.jobLimits, { maxConcurrent: 5, capacity: { bot: 2, 'bot:credit-bureau': 1, http: 3 } });
  assert.equal(graph!.elements.Bureau!.maxConcurrent, 1);
  assert.deepEqual(jobLimitsOf(graph!, 'Bureau', 'bot:credit-bureau'), {
    'process/p': 5,
    'process/p/bot': 2,
    'process/p/bot:credit-bureau': 1,
    'task/p/Bureau': 1,
  });
  // A listener's job of the task is the process's, not the task's own.
  assert.deepEqual(jobLimitsOf(graph!, 'Bureau', 'http', 'start'), { 'process/p': 5, 'process/p/http': 3 });
  // `bot` covers bot:* but not a type that only starts with the same letters.
  assert.deepEqual(jobLimitsOf(graph!, 'Bureau', 'botany'), { 'process/p': 5, 'task/p/Bureau': 1 });
});

test('a process without limits puts none on its jobs', async () => {
  const [graph] = await parseDefinitions(bpmn('', property('other', 'x')), 'plain.bpmn');
  assert.equal(graph!.jobLimits, undefined);
  assert.equal(jobLimitsOf(graph!, 'Bureau', 'bot:credit-bureau'), undefined);
});

test('operon:capacity refuses what is not <node type>=N with N ≥ 1, naming the entry', () => {
  assert.deepEqual(parseProcessCapacity('bot=1,decision=4'), { bot: 1, decision: 4 });
  for (const [value, message] of [
    ['', /is empty/],
    ['bot', /'bot' is not/],
    ['bot=0', /'bot=0' is not/],
    ['bot=1.5', /'bot=1.5' is not/],
    ['bot=1,bot=2', /names 'bot' twice/],
    ['bot one=1', /'bot one=1' is not/],
  ] as const)
    assert.match(String(parseProcessCapacity(value)), message, value);
});

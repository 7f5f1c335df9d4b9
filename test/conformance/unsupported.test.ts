/** Deployment refuses what Operon does not execute, naming the element id and its BPMN type. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitions } from '../../engine/model/index.ts';
import type { OperonError } from '../../engine/errors.ts';

const model = (body: string, roots = '') => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">${roots}
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="x" />
    ${body}
    <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

const UNSUPPORTED: Array<[string, string, string]> = [
  ['complex gateway', '<bpmn:complexGateway id="x" />', 'ComplexGateway'],
  [
    'compensation intermediate catch event',
    '<bpmn:intermediateCatchEvent id="x"><bpmn:compensateEventDefinition id="c" /></bpmn:intermediateCatchEvent>',
    'IntermediateCatchEvent',
  ],
  [
    'conditional catch event',
    '<bpmn:intermediateCatchEvent id="x"><bpmn:conditionalEventDefinition id="c"><bpmn:condition xsi:type="bpmn:tFormalExpression">=true</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>',
    'IntermediateCatchEvent',
  ],
  ['transaction', '<bpmn:transaction id="x"><bpmn:startEvent id="ts" /></bpmn:transaction>', 'Transaction'],
  ['ad-hoc subprocess', '<bpmn:adHocSubProcess id="x"><bpmn:task id="t" /></bpmn:adHocSubProcess>', 'AdHocSubProcess'],
  ['standard loop task', '<bpmn:task id="x"><bpmn:standardLoopCharacteristics /></bpmn:task>', 'Task'],
];

describe('deployment refuses unsupported elements by id and type', () => {
  for (const [name, body, elementType] of UNSUPPORTED) {
    it(name, async () => {
      await assert.rejects(parseDefinitions(model(body), 'unsupported.bpmn'), (error: OperonError) => {
        assert.equal(error.code, 'OPERON_ERR_BPMN_UNSUPPORTED', error.message);
        assert.equal(error.details.elementId, 'x');
        assert.equal(error.details.elementType, elementType);
        assert.equal(error.details.file, 'unsupported.bpmn');
        return true;
      });
    });
  }
});

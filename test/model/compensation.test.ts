/** Deploy-time rules for compensation: what links a boundary event to its handler, and what is refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OperonError } from '../../engine/errors.ts';
import { parseDefinitions } from '../../engine/model/index.ts';
import type { Activity, BoundaryEvent, EndEvent, IntermediateThrowEvent } from '../../engine/model/graph.ts';

type CompensationBoundary = Extract<BoundaryEvent, { eventKind: 'compensation' }>;

const model = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="book" />
    <bpmn:task id="book" />
    <bpmn:sequenceFlow id="f2" sourceRef="book" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:compensateEventDefinition id="c0" /></bpmn:endEvent>
    ${body}
  </bpmn:process>
</bpmn:definitions>`;

const boundary =
  '<bpmn:boundaryEvent id="undoBook" attachedToRef="book"><bpmn:compensateEventDefinition id="c1" /></bpmn:boundaryEvent>';
const handler = '<bpmn:task id="cancelBooking" isForCompensation="true" />';
const association =
  '<bpmn:association id="a1" associationDirection="One" sourceRef="undoBook" targetRef="cancelBooking" />';

async function refused(body: string, code: string, elementId: string): Promise<void> {
  await assert.rejects(parseDefinitions(model(body), 'c.bpmn'), (error: OperonError) => {
    assert.equal(error.code, code, error.message);
    assert.equal(error.details.elementId, elementId, error.message);
    return true;
  });
}

describe('compensation at deployment', () => {
  it('links the boundary event and its activity to the associated handler, in either direction', async () => {
    for (const link of [association, '<bpmn:association id="a1" sourceRef="cancelBooking" targetRef="undoBook" />']) {
      const [graph] = await parseDefinitions(model(boundary + handler + link), 'c.bpmn');
      assert.equal((graph!.elements.undoBook as CompensationBoundary).compensationHandler, 'cancelBooking');
      assert.equal((graph!.elements.book as Activity).compensationHandler, 'cancelBooking');
      assert.equal((graph!.elements.cancelBooking as Activity).isForCompensation, true);
      assert.equal((graph!.elements.end as EndEvent).eventKind, 'compensation');
    }
  });

  it('keeps the activityRef of a throw event', async () => {
    const body = `${boundary + handler + association.replace('a1', 'a2')}<bpmn:intermediateThrowEvent id="t"><bpmn:compensateEventDefinition id="c2" activityRef="book" /></bpmn:intermediateThrowEvent>`;
    const [graph] = await parseDefinitions(model(body), 'c.bpmn');
    assert.equal(
      (graph!.elements.t as IntermediateThrowEvent & { eventKind: 'compensation' }).compensateActivity,
      'book',
    );
  });

  it('refuses a compensation boundary event without a handler', () =>
    refused(boundary, 'OPERON_ERR_BPMN_INVALID', 'undoBook'));
  it('refuses a handler no compensation boundary event is associated with', () =>
    refused(handler, 'OPERON_ERR_BPMN_INVALID', 'cancelBooking'));
  it('refuses an association to an activity that is not marked isForCompensation', () =>
    refused(`${boundary}<bpmn:task id="cancelBooking" />${association}`, 'OPERON_ERR_BPMN_INVALID', 'undoBook'));
  it('refuses a handler with sequence flows', () =>
    refused(
      `${boundary + handler + association}<bpmn:sequenceFlow id="f3" sourceRef="cancelBooking" targetRef="end" />`,
      'OPERON_ERR_BPMN_INVALID',
      'cancelBooking',
    ));
  it('refuses a compensation boundary event with an outgoing flow', () =>
    refused(
      `${boundary + handler + association}<bpmn:sequenceFlow id="f3" sourceRef="undoBook" targetRef="end" />`,
      'OPERON_ERR_BPMN_INVALID',
      'undoBook',
    ));
  it('refuses a multi-instance handler', () =>
    refused(
      boundary +
        handler.replace(
          ' />',
          '><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1]" /></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:task>',
        ) +
        association,
      'OPERON_ERR_BPMN_UNSUPPORTED',
      'cancelBooking',
    ));
  it('refuses an activityRef outside the scope the event compensates', () =>
    refused(
      '<bpmn:subProcess id="sub"><bpmn:startEvent id="s" /><bpmn:sequenceFlow id="s1" sourceRef="s" targetRef="t" /><bpmn:intermediateThrowEvent id="t"><bpmn:compensateEventDefinition id="c2" activityRef="book" /></bpmn:intermediateThrowEvent></bpmn:subProcess>',
      'OPERON_ERR_BPMN_INVALID',
      't',
    ));
  it('refuses a compensation start event (compensation event subprocess)', () =>
    refused(
      '<bpmn:subProcess id="onUndo" triggeredByEvent="true"><bpmn:startEvent id="undoStart"><bpmn:compensateEventDefinition id="c2" /></bpmn:startEvent></bpmn:subProcess>',
      'OPERON_ERR_BPMN_UNSUPPORTED',
      'undoStart',
    ));
});

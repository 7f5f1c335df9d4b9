/**
 * zeebe:calledDecision at deployment (what parse.ts accepts and refuses) and a Camunda Modeler
 * `.dmn` file (DMNDI, zeebe:versionTag, input data) parsed and evaluated as drawn.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { OperonError } from '../../engine/errors.ts';
import { evaluateDecision, isDmnFile, parseDmn } from '../../engine/dmn/index.ts';
import { parseDefinitions } from '../../engine/model/index.ts';
import type { DecisionTask, JobTask } from '../../engine/model/graph.ts';

const bpmn = (calledDecision: string, extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rules" />
    <bpmn:businessRuleTask id="rules"><bpmn:extensionElements>${calledDecision}${extra}</bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="rules" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

describe('zeebe:calledDecision at deployment', () => {
  it('makes the business rule task a decision call, not a job', async () => {
    const [graph] = await parseDefinitions(
      bpmn('<zeebe:calledDecision decisionId="dish" resultVariable="meal" />'),
      'p.bpmn',
    );
    assert.deepEqual((graph!.elements.rules as DecisionTask).calledDecision, {
      decisionId: 'dish',
      resultVariable: 'meal',
    });
    assert.equal('job' in graph!.elements.rules!, false);
  });

  it('binds to a version tag', async () => {
    const [graph] = await parseDefinitions(
      bpmn('<zeebe:calledDecision decisionId="dish" resultVariable="meal" bindingType="versionTag" versionTag="v2" />'),
      'p.bpmn',
    );
    assert.deepEqual((graph!.elements.rules as DecisionTask).calledDecision, {
      decisionId: 'dish',
      resultVariable: 'meal',
      versionTag: 'v2',
    });
  });

  it('keeps a business rule task with a task definition a job task', async () => {
    const [graph] = await parseDefinitions(bpmn('<zeebe:taskDefinition type="rules" />'), 'p.bpmn');
    assert.equal((graph!.elements.rules as JobTask).job.taskType, 'rules');
  });

  async function refused(xml: string, code: string, pattern: RegExp): Promise<void> {
    await assert.rejects(parseDefinitions(xml, 'p.bpmn'), (error: OperonError) => {
      assert.equal(error.code, code, error.message);
      assert.equal(error.details.elementId, 'rules');
      assert.match(error.message, pattern);
      return true;
    });
  }

  it('refuses a call without a result variable, FEEL that does not parse and a binding to a version', async () => {
    await refused(
      bpmn('<zeebe:calledDecision decisionId="dish" />'),
      'OPERON_ERR_BPMN_INVALID',
      /decisionId and a resultVariable/,
    );
    await refused(
      bpmn('<zeebe:calledDecision decisionId="= dish +" resultVariable="x" />'),
      'OPERON_ERR_FEEL_SYNTAX',
      /./,
    );
    await refused(
      bpmn('<zeebe:calledDecision decisionId="dish" resultVariable="x" bindingType="deployment" />'),
      'OPERON_ERR_BPMN_UNSUPPORTED',
      /bindingType="latest"/,
    );
    await refused(
      bpmn('<zeebe:calledDecision decisionId="dish" resultVariable="x" bindingType="versionTag" />'),
      'OPERON_ERR_BPMN_INVALID',
      /no versionTag/,
    );
  });
});

describe('a Camunda Modeler .dmn file', () => {
  const xml = readFileSync(new URL('./fixtures/camunda-modeler.dmn', import.meta.url), 'utf8');

  it('is told from BPMN by its namespace and evaluates as drawn', async () => {
    assert.equal(isDmnFile({ name: 'request.bpmn', xml }), true);
    assert.equal(isDmnFile({ name: 'p.bpmn', xml: bpmn('') }), false);
    const model = await parseDmn(xml, 'camunda-modeler.dmn');
    assert.deepEqual(
      model.decisions.map((d) => [d.id, d.requires, d.versionTag]),
      [['Decision_dish', [], 'v1']],
    );
    assert.equal(evaluateDecision(model, 'Decision_dish', { season: 'Fall' }).output, 'Spareribs');
    assert.equal(evaluateDecision(model, 'Decision_dish', { season: 'Winter' }).output, null);
  });
});

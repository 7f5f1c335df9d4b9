/**
 * Deploying what Zeebe deploys, refusing what Zeebe refuses, over POST /api/deployments: small
 * equivalents of real-world Camunda 8 files that were refused (a diagram naming a renamed process,
 * vendor and unknown extension elements, `<br>` in an embedded form, a QName reference, an
 * ISO-8859-1 declaration), messages that named the wrong fault, and FEEL that parses in feelin but
 * not in Zeebe (refused at deployment with the element id instead of failing every instance).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, startTestApi, type TestApi } from './support/api.ts';

let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => {
  await api?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (response: { body: string }): any => JSON.parse(response.body);

const NAMESPACES = [
  'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"',
  'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"',
  'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"',
  'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"',
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
].join(' ');

/** A Camunda-8-style file: `body` inside the process (flows included), `after` after it (diagram, messages). */
function model(options: {
  id?: string;
  body: string;
  after?: string;
  encoding?: string;
  extraNamespaces?: string;
}): string {
  return `<?xml version="1.0" encoding="${options.encoding ?? 'UTF-8'}"?>
<bpmn:definitions ${NAMESPACES} ${options.extraNamespaces ?? ''} id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process${options.id === undefined ? '' : ` id="${options.id}"`} name="Camunda model" isExecutable="true">
${options.body}
  </bpmn:process>
${options.after ?? ''}
</bpmn:definitions>`;
}

const STRAIGHT = `
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;

const diagram = (planeElement: string, shapes: string[]) => `
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="${planeElement}">
${shapes.map((s, i) => `      <bpmndi:BPMNShape id="Shape_${i}" bpmnElement="${s}"><dc:Bounds x="${i * 100}" y="100" width="36" height="36" /></bpmndi:BPMNShape>`).join('\n')}
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>`;

async function deploy(xml: string) {
  return api.app.inject({
    method: 'POST',
    url: '/api/deployments',
    headers: { ...api.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
}

async function assertDeploys(xml: string, processId: string): Promise<void> {
  const response = await deploy(xml);
  assert.equal(response.statusCode, 201, response.body);
  assert.ok(
    json(response).processes.some((p: { bpmnProcessId: string }) => p.bpmnProcessId === processId),
    response.body,
  );
}

async function assertRefused(xml: string, code: string, elementId: string | undefined, message: RegExp): Promise<void> {
  const response = await deploy(xml);
  assert.equal(response.statusCode, 400, response.body);
  const { error } = json(response);
  assert.equal(error.code, code, response.body);
  assert.equal(error.details?.elementId, elementId, response.body);
  assert.match(error.message, message);
}

describe('valid Camunda files deploy', () => {
  test('a diagram plane and shapes naming a renamed process and a removed element are ignored, as Zeebe ignores the diagram', async () => {
    await assertDeploys(
      model({
        id: 'renamed-process',
        body: STRAIGHT,
        after: diagram('Process_old_name', ['StartEvent_1', 'Activity_removed']),
      }),
      'renamed-process',
    );
  });

  test('a form-js schema with <br> (escaped, or in CDATA) inside zeebe:userTaskForm', async () => {
    const form = (text: string) =>
      `{"components":[{"type":"text","id":"Field_1","text":"Please review&lt;br&gt;${text}"},{"type":"checkbox","key":"ok","label":"OK"}],"type":"default"}`;
    const body = (formBody: string) => `
    <bpmn:extensionElements><zeebe:userTaskForm id="userTaskForm_1">${formBody}</zeebe:userTaskForm></bpmn:extensionElements>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_review" />
    <bpmn:userTask id="Activity_review"><bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:userTaskForm_1" /></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_review" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;
    await assertDeploys(model({ id: 'form-escaped', body: body(form('the order')) }), 'form-escaped');
    await assertDeploys(
      model({
        id: 'form-cdata',
        body: body(
          `<![CDATA[{"components":[{"type":"text","id":"Field_1","text":"line<br>line"}],"type":"default"}]]>`,
        ),
      }),
      'form-cdata',
    );
  });

  test('vendor elements inside extensionElements: foreign namespaces, and a bpmn: element the schema does not know', async () => {
    const body = `
    <bpmn:extensionElements><acme:owner team="payments"><acme:note>kept by payments</acme:note></acme:owner></bpmn:extensionElements>
    <bpmn:startEvent id="StartEvent_1">
      <bpmn:extensionElements><bpmn:vendorSetting value="1" /><signavio:signavioMetaData metaKey="bgcolor" metaValue="#ffffff" /></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;
    await assertDeploys(
      model({
        id: 'vendor-extensions',
        body,
        extraNamespaces: 'xmlns:acme="urn:acme:bpmn" xmlns:signavio="http://www.signavio.com"',
      }),
      'vendor-extensions',
    );
  });

  test('a QName-prefixed reference (messageRef="tns:message-id") resolves, and the message correlates', async () => {
    const body = `
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_wait" />
    <bpmn:receiveTask id="Activity_wait" messageRef="tns:message-id" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_wait" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;
    const after = `  <bpmn:message id="message-id" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>`;
    await assertDeploys(
      model({ id: 'qname-reference', body, after, extraNamespaces: 'xmlns:tns="http://bpmn.io/schema/bpmn"' }),
      'qname-reference',
    );
    const { instanceId } = await api.engine.startInstance('qname-reference', { orderId: 'q-1' });
    await eventually(
      async () =>
        (await api.db
          .knex('message_subscriptions')
          .where({ process_instance_id: instanceId, state: 'open' })
          .first()) ?? undefined,
    );
    assert.deepEqual(await api.engine.publishMessage({ name: 'paid', correlationKey: 'q-1' }), {
      correlated: true,
      instanceId,
    });
    await eventually(async () =>
      (await api.engine.getInstance(instanceId))?.state === 'completed' ? true : undefined,
    );
  });

  test('an ISO-8859-1 declaration on a plain ASCII file', async () => {
    await assertDeploys(model({ id: 'latin-1', body: STRAIGHT, encoding: 'ISO-8859-1' }), 'latin-1');
  });
});

describe('refusals name the real fault', () => {
  test('an ISO-8859-1 declaration does not hide the real fault', async () => {
    const body = `
    <bpmn:task id="Activity_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Activity_1" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;
    await assertRefused(
      model({ id: 'latin-1-broken', body, encoding: 'ISO-8859-1' }),
      'OPERON_ERR_BPMN_INVALID',
      'latin-1-broken',
      /no start event/,
    );
  });

  test('a process without an id is refused as such, not as "process undefined has no start event"', async () => {
    await assertRefused(model({ body: STRAIGHT }), 'OPERON_ERR_BPMN_INVALID', undefined, /has no id/);
  });

  test('a stale diagram reference does not hide a missing start event or a bad condition', async () => {
    const noStart = `
    <bpmn:task id="Activity_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Activity_1" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;
    await assertRefused(
      model({ id: 'stale-di', body: noStart, after: diagram('stale-di', ['StartEvent_gone', 'Activity_1']) }),
      'OPERON_ERR_BPMN_INVALID',
      'stale-di',
      /no start event/,
    );
    const badCondition = `
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Gateway_1" />
    <bpmn:exclusiveGateway id="Gateway_1" default="Flow_small" />
    <bpmn:sequenceFlow id="Flow_big" sourceRef="Gateway_1" targetRef="EndEvent_1"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">= size = = "large"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_small" sourceRef="Gateway_1" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;
    await assertRefused(
      model({ id: 'stale-di-2', body: badCondition, after: diagram('stale-di-2', ['Gone_1']) }),
      'OPERON_ERR_FEEL_SYNTAX',
      'Flow_big',
      /unary test/,
    );
  });
});

describe('FEEL that Zeebe refuses is refused at deployment, naming the element', () => {
  const gateway = (condition: string, mapping = '') => `
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_prepare" />
    <bpmn:task id="Activity_prepare">${mapping}</bpmn:task>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_prepare" targetRef="Gateway_1" />
    <bpmn:exclusiveGateway id="Gateway_1" default="Flow_small" />
    <bpmn:sequenceFlow id="Flow_large" sourceRef="Gateway_1" targetRef="EndEvent_1"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_small" sourceRef="Gateway_1" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />`;

  test('a doubled comparison operator', async () => {
    await assertRefused(
      model({ id: 'feel-double-eq', body: gateway('= size = = "large"') }),
      'OPERON_ERR_FEEL_SYNTAX',
      'Flow_large',
      /Flow_large/,
    );
  });

  test('a doubled plus', async () => {
    await assertRefused(
      model({ id: 'feel-double-plus', body: gateway('= size ++ "large"') }),
      'OPERON_ERR_FEEL_SYNTAX',
      'Flow_large',
      /unary plus/,
    );
  });

  test('a condition without the leading =', async () => {
    await assertRefused(
      model({ id: 'feel-no-marker', body: gateway('size = "large"') }),
      'OPERON_ERR_FEEL_SYNTAX',
      'Flow_large',
      /must start with "="/,
    );
  });

  test('an input mapping that does not parse names its task', async () => {
    const mapping =
      '<bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="= a ++ b" target="c" /></zeebe:ioMapping></bpmn:extensionElements>';
    await assertRefused(
      model({ id: 'feel-bad-mapping', body: gateway('= size = "large"', mapping) }),
      'OPERON_ERR_FEEL_SYNTAX',
      'Activity_prepare',
      /unary plus/,
    );
  });

  test('valid FEEL with Camunda built-ins deploys and runs', async () => {
    const mapping =
      '<bpmn:extensionElements><zeebe:ioMapping><zeebe:output source="=get or else(size, &quot;small&quot;)" target="size" /></zeebe:ioMapping></bpmn:extensionElements>';
    await assertDeploys(
      model({ id: 'feel-builtins', body: gateway('= is defined(size) and size = "large"', mapping) }),
      'feel-builtins',
    );
    const { instanceId } = await api.engine.startInstance('feel-builtins', {});
    const view = await eventually(async () => {
      const instance = await api.engine.getInstance(instanceId);
      return instance?.state === 'completed' ? instance : undefined;
    });
    assert.equal(view.variables.size, 'small');
    assert.equal(view.incidents.length, 0);
  });
});

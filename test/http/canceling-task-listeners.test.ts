/**
 * Canceling task listeners over real HTTP, as an outside worker uses them: a process instance
 * cancellation (POST /api/instances/{id}/cancel) answers 202 and the instance stays active, its
 * task `canceling`, until the listener jobs, taken with POST /api/jobs/activate, completed; an
 * interrupting message boundary event starts its path only then. A denial or variables from such a
 * job are refused (400), as Zeebe refuses them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listenHttp, startTestApi, type HttpClient, type TestApi } from './support/api.ts';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="hold-order" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve order">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:taskListeners>
          <zeebe:taskListener eventType="canceling" type="release-stock" />
          <zeebe:taskListener eventType="canceling" type="notify-cancel" />
        </zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
  <bpmn:message id="withdrawn" name="order-withdrawn"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="withdrawable-order" isExecutable="true">
    <bpmn:startEvent id="start2" />
    <bpmn:sequenceFlow id="g1" sourceRef="start2" targetRef="review" />
    <bpmn:userTask id="review">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:taskListeners><zeebe:taskListener eventType="canceling" type="release-stock" /></zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="g2" sourceRef="review" targetRef="done" />
    <bpmn:endEvent id="done" />
    <bpmn:boundaryEvent id="onWithdrawn" attachedToRef="review"><bpmn:messageEventDefinition messageRef="withdrawn" /></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="g3" sourceRef="onWithdrawn" targetRef="refund" />
    <bpmn:serviceTask id="refund"><bpmn:extensionElements><zeebe:taskDefinition type="refund" /></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:sequenceFlow id="g4" sourceRef="refund" targetRef="withdrawnEnd" />
    <bpmn:endEvent id="withdrawnEnd" />
  </bpmn:process>
</bpmn:definitions>`;

let api: TestApi;
let call: HttpClient['call'];
let take: HttpClient['take'];

async function taskOf(instanceId: string): Promise<any> {
  const { json } = await call('GET', `/api/tasks?instanceId=${instanceId}&state=canceling`);
  return json.tasks[0] ?? (await call('GET', `/api/tasks?instanceId=${instanceId}`)).json.tasks[0];
}

before(async () => {
  api = await startTestApi();
  ({ call, take } = await listenHttp(api));
  const deployed = await call('POST', '/api/deployments', XML);
  assert.equal(deployed.status, 201, JSON.stringify(deployed.json));
});
after(async () => api?.close());

describe('canceling task listeners over HTTP', () => {
  let instanceId: string;
  let taskId: string;

  it('a process instance cancellation answers 202: the instance stays active, its task canceling', async () => {
    const started = await call('POST', '/api/instances', { bpmnProcessId: 'hold-order', variables: { order: 7 } });
    assert.equal(started.status, 201);
    instanceId = started.json.instanceId;
    taskId = (await taskOf(instanceId)).id;
    const cancelled = await call('POST', `/api/instances/${instanceId}/cancel`);
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.json));
    assert.equal(cancelled.json.state, 'active');
    const task = (await call('GET', `/api/tasks/${taskId}`)).json;
    assert.equal(task.state, 'canceling');
    const completion = await call('POST', `/api/tasks/${taskId}/complete`, { variables: {}, completedBy: 'ann' });
    assert.equal(completion.status, 409, 'a canceling task cannot be completed');
  });

  it('the listener job names the task; a denial or variables are refused (400)', async () => {
    const job = await take('release-stock');
    assert.equal(job.listenerEventType, 'canceling');
    assert.equal(job.elementId, 'approve');
    assert.equal(job.headers['io.camunda.zeebe:userTaskKey'], taskId);
    assert.equal(job.variables.order, 7);
    const denied = await call('POST', `/api/jobs/${job.id}/complete`, {
      worker: 'outside',
      attempt: job.attempt,
      result: { type: 'userTask', denied: true, deniedReason: 'keep it' },
    });
    assert.equal(denied.status, 400);
    assert.equal(denied.json.error.details.field, 'body.result.denied');
    const withVariables = await call('POST', `/api/jobs/${job.id}/complete`, {
      worker: 'outside',
      attempt: job.attempt,
      variables: { released: true },
    });
    assert.equal(withVariables.status, 400);
    assert.match(JSON.stringify(withVariables.json), /body\.variables/);
    const done = await call('POST', `/api/jobs/${job.id}/complete`, { worker: 'outside', attempt: job.attempt });
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.equal((await call('GET', `/api/instances/${instanceId}`)).json.state, 'active', 'the second one runs');
  });

  it('the instance is terminated and the task cancelled once the last listener job completed', async () => {
    const job = await take('notify-cancel');
    const done = await call('POST', `/api/jobs/${job.id}/complete`, { worker: 'outside', attempt: job.attempt });
    assert.equal(done.status, 200);
    assert.equal((await call('GET', `/api/instances/${instanceId}`)).json.state, 'terminated');
    assert.equal((await call('GET', `/api/tasks/${taskId}`)).json.state, 'cancelled');
  });

  it('an interrupting message boundary event waits for the listener job, then its path goes on', async () => {
    const started = await call('POST', '/api/instances', {
      bpmnProcessId: 'withdrawable-order',
      variables: { orderId: 'o-1' },
    });
    const id = started.json.instanceId;
    const published = await call('POST', '/api/messages', { name: 'order-withdrawn', correlationKey: 'o-1' });
    assert.equal(published.json.correlated, true, JSON.stringify(published.json));
    assert.equal((await taskOf(id)).state, 'canceling');
    const job = await take('release-stock');
    const elements = (await call('GET', `/api/instances/${id}`)).json.elements as Array<{ elementId: string }>;
    assert.equal(
      elements.some((e) => e.elementId === 'onWithdrawn'),
      false,
      'the boundary event has not started yet',
    );
    await call('POST', `/api/jobs/${job.id}/complete`, { worker: 'outside', attempt: job.attempt });
    const refund = await take('refund');
    assert.equal(refund.elementId, 'refund');
    await call('POST', `/api/jobs/${refund.id}/complete`, { worker: 'outside', attempt: refund.attempt });
    const instance = (await call('GET', `/api/instances/${id}`)).json;
    assert.equal(instance.state, 'completed');
    assert.equal((await taskOf(id)).state, 'cancelled');
  });

  it('an instance whose cancellation ended cannot be cancelled again (409)', async () => {
    const started = await call('POST', '/api/instances', { bpmnProcessId: 'hold-order', variables: {} });
    const id = started.json.instanceId;
    const first = await call('POST', `/api/instances/${id}/cancel`);
    assert.equal(first.status, 202);
    for (const type of ['release-stock', 'notify-cancel']) {
      const job = await take(type);
      assert.equal(
        (await call('POST', `/api/jobs/${job.id}/complete`, { worker: 'outside', attempt: job.attempt })).status,
        200,
      );
    }
    const again = await call('POST', `/api/instances/${id}/cancel`);
    assert.equal(again.status, 409, 'an ended instance cannot be cancelled again');
  });
});

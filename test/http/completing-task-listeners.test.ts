/**
 * Completing task listeners over real HTTP, as an outside worker and a task list use them: a
 * completion answers 202 and the task stays `completing` until the listener jobs, taken with
 * POST /api/jobs/activate, completed; a job result `denied: true` opens the task again; a listener
 * job out of retries is an incident, and resolving it runs the job again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listenHttp, startTestApi, type HttpClient, type TestApi } from './support/api.ts';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="approve-expense" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve expense">
      <bpmn:extensionElements>
        <zeebe:userTask /><zeebe:taskListeners>
          <zeebe:taskListener eventType="completing" type="check-approval" retries="1" />
          <zeebe:taskListener eventType="completing" type="notify-approval" />
        </zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

let api: TestApi;
let call: HttpClient['call'];
let take: HttpClient['take'];

async function taskOf(instanceId: string): Promise<any> {
  const { json } = await call('GET', `/api/tasks?instanceId=${instanceId}`);
  return json.tasks[0];
}

before(async () => {
  api = await startTestApi();
  ({ call, take } = await listenHttp(api));
  const deployed = await call('POST', '/api/deployments', XML);
  assert.equal(deployed.status, 201, JSON.stringify(deployed.json));
});
after(async () => api?.close());

describe('completing task listeners over HTTP', () => {
  let instanceId: string;
  let taskId: string;

  it('a completion answers 202 and the task stays completing while the listener jobs run', async () => {
    const started = await call('POST', '/api/instances', {
      bpmnProcessId: 'approve-expense',
      variables: { amount: 900 },
    });
    assert.equal(started.status, 201);
    instanceId = started.json.instanceId;
    taskId = (await taskOf(instanceId)).id;
    const completed = await call('POST', `/api/tasks/${taskId}/complete`, {
      variables: { approved: true },
      completedBy: 'ann',
    });
    assert.equal(completed.status, 202, JSON.stringify(completed.json));
    assert.equal(completed.json.state, 'completing');
    const again = await call('POST', `/api/tasks/${taskId}/complete`, {
      variables: { approved: true },
      completedBy: 'ann',
    });
    assert.equal(again.status, 202, 'the same completion retried is answered again');
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const other = await call('POST', `/api/tasks/${taskId}/complete`, {
      variables: { approved: false },
      completedBy: 'bob',
    });
    assert.equal(other.status, 409, 'another completion meanwhile is a conflict');
  });

  it('a listener job that denies the completion opens the task again', async () => {
    const job = await take('check-approval');
    assert.equal(job.listenerEventType, 'completing');
    assert.equal(job.elementId, 'approve');
    assert.deepEqual(job.variables, { amount: 900, approved: true }, 'the listener sees the requested result');
    const denied = await call('POST', `/api/jobs/${job.id}/complete`, {
      worker: 'outside',
      attempt: job.attempt,
      result: { type: 'userTask', denied: true, deniedReason: 'over the limit without a note' },
    });
    assert.equal(denied.status, 200, JSON.stringify(denied.json));
    const task = await taskOf(instanceId);
    assert.equal(task.state, 'open');
    const instance = await call('GET', `/api/instances/${instanceId}`);
    assert.equal(instance.json.state, 'active');
    assert.equal(instance.json.variables.approved, undefined, 'the denied result is not applied');
  });

  it('a job result with a field Operon does not support is refused, naming it', async () => {
    const completed = await call('POST', `/api/tasks/${taskId}/complete`, {
      variables: { approved: true, note: 'client visit' },
      completedBy: 'ann',
    });
    assert.equal(completed.status, 202);
    const job = await take('check-approval');
    const refused = await call('POST', `/api/jobs/${job.id}/complete`, {
      worker: 'outside',
      attempt: job.attempt,
      result: { type: 'userTask', corrections: { assignee: 'bob' } },
    });
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.json), /corrections/);
    // The same job, out of retries, is an incident on the task.
    const failed = await call('POST', `/api/jobs/${job.id}/fail`, {
      worker: 'outside',
      attempt: job.attempt,
      errorMessage: 'mail server down',
      retries: 0,
    });
    assert.equal(failed.status, 200, JSON.stringify(failed.json));
    const { json } = await call('GET', `/api/incidents?state=open&instanceId=${instanceId}`);
    assert.equal(json.incidents.length, 1);
    assert.equal(json.incidents[0].elementId, 'approve');
    assert.equal((await taskOf(instanceId)).state, 'completing');
    const resolved = await call('POST', `/api/incidents/${json.incidents[0].id}/resolve`, {});
    assert.equal(resolved.status, 200, JSON.stringify(resolved.json));
  });

  it('the task completes, with its result, once every listener job completed', async () => {
    const check = await take('check-approval');
    const done = await call('POST', `/api/jobs/${check.id}/complete`, {
      worker: 'outside',
      attempt: check.attempt,
      variables: { checked: true },
    });
    assert.equal(done.status, 200);
    assert.equal((await taskOf(instanceId)).state, 'completing', 'the second listener still runs');
    const notify = await take('notify-approval');
    assert.equal(notify.variables.checked, true);
    await call('POST', `/api/jobs/${notify.id}/complete`, { worker: 'outside', attempt: notify.attempt });
    const task = (await call('GET', `/api/tasks/${taskId}`)).json;
    assert.equal(task.state, 'completed');
    const instance = await call('GET', `/api/instances/${instanceId}`);
    assert.equal(instance.json.state, 'completed');
    assert.equal(instance.json.variables.approved, true);
    assert.equal(instance.json.variables.note, 'client visit');
    assert.equal(instance.json.variables.checked, true);
  });
});

/**
 * Assigning and updating task listeners over real HTTP, as an outside worker and a task list use
 * them: an assignment or update answers 202 and the task stays `assigning` / `updating` until the
 * listener jobs, taken with POST /api/jobs/activate, completed; their job result may correct the
 * change or deny it. A task without such listeners changes at once (200), as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listenHttp, startTestApi, type HttpClient, type TestApi } from './support/api.ts';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="held" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve expense">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition candidateGroups="finance" />
        <zeebe:userTask /><zeebe:taskListeners>
          <zeebe:taskListener eventType="assigning" type="check-assignee" />
          <zeebe:taskListener eventType="updating" type="check-update" />
        </zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
  <bpmn:process id="owned" isExecutable="true">
    <bpmn:startEvent id="start2" />
    <bpmn:sequenceFlow id="g1" sourceRef="start2" targetRef="review" />
    <bpmn:userTask id="review">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition assignee="=owner" />
        <zeebe:userTask /><zeebe:taskListeners>
          <zeebe:taskListener eventType="assignment" type="check-owner" />
          <zeebe:taskListener eventType="assigning" type="notify-owner" />
        </zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="g2" sourceRef="review" targetRef="end2" />
    <bpmn:endEvent id="end2" />
  </bpmn:process>
  <bpmn:process id="plain" isExecutable="true">
    <bpmn:startEvent id="start3" />
    <bpmn:sequenceFlow id="h1" sourceRef="start3" targetRef="sign" />
    <bpmn:userTask id="sign" />
    <bpmn:sequenceFlow id="h2" sourceRef="sign" targetRef="end3" />
    <bpmn:endEvent id="end3" />
  </bpmn:process>
</bpmn:definitions>`;

let api: TestApi;
let call: HttpClient['call'];
let take: HttpClient['take'];

async function finish(job: any, result?: unknown): Promise<void> {
  const done = await call('POST', `/api/jobs/${job.id}/complete`, {
    worker: 'outside',
    attempt: job.attempt,
    ...(result ? { result } : {}),
  });
  assert.equal(done.status, 200, JSON.stringify(done.json));
}

async function start(
  bpmnProcessId: string,
  variables: Record<string, unknown> = {},
): Promise<{ id: string; task: any }> {
  const started = await call('POST', '/api/instances', { bpmnProcessId, variables });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  const { json } = await call('GET', `/api/tasks?instanceId=${started.json.instanceId}`);
  return { id: started.json.instanceId, task: json.tasks[0] };
}

before(async () => {
  api = await startTestApi();
  ({ call, take } = await listenHttp(api));
  const deployed = await call('POST', '/api/deployments', XML);
  assert.equal(deployed.status, 201, JSON.stringify(deployed.json));
});
after(async () => api?.close());

describe('assigning and updating task listeners over HTTP', () => {
  let taskId: string;
  let instanceId: string;

  it('an assignment answers 202 (assigning) and takes effect with the listener job’s corrections', async () => {
    ({
      id: instanceId,
      task: { id: taskId },
    } = await start('held'));
    const assigned = await call('POST', `/api/tasks/${taskId}/assignment`, { assignee: 'ann' });
    assert.equal(assigned.status, 202, JSON.stringify(assigned.json));
    assert.equal(assigned.json.state, 'assigning');
    assert.equal(assigned.json.assignee, undefined, 'not assigned while the listener runs');
    assert.equal((await call('POST', `/api/tasks/${taskId}/assignment`, { assignee: 'bob' })).status, 409);
    assert.equal((await call('POST', `/api/tasks/${taskId}/complete`, { variables: {} })).status, 409);
    const audited = await api.db.knex('audit_log').where({ action: 'task.assign', target_id: taskId });
    assert.equal(audited.length, 1, 'the refused second assignment leaves no audit row');
    assert.deepEqual([audited[0].change.assignee, audited[0].change.pending], ['ann', true]);

    const job = await take('check-assignee');
    assert.equal(job.listenerEventType, 'assigning');
    assert.equal(job.headers['io.camunda.zeebe:assignee'], 'ann');
    assert.equal(job.headers['io.camunda.zeebe:userTaskKey'], taskId);
    assert.equal(job.headers['io.camunda.zeebe:candidateGroups'], '["finance"]');
    await finish(job, { type: 'userTask', corrections: { assignee: 'bob', priority: 90 } });
    const task = (await call('GET', `/api/tasks/${taskId}`)).json;
    assert.equal(task.state, 'open');
    assert.equal(task.assignee, 'bob');
    assert.equal(task.priority, 90);
  });

  it('a denying listener job leaves the assignment as it was', async () => {
    assert.equal((await call('POST', `/api/tasks/${taskId}/assignment`, { assignee: null })).status, 202);
    await finish(await take('check-assignee'), { type: 'userTask', denied: true, deniedReason: 'keep bob' });
    const task = (await call('GET', `/api/tasks/${taskId}`)).json;
    assert.equal(task.state, 'open');
    assert.equal(task.assignee, 'bob');
  });

  it('an update answers 202 (updating) and takes effect once the listener job completed', async () => {
    const refused = await call('PATCH', `/api/tasks/${taskId}`, { dueDate: 'tomorrow' });
    assert.equal(refused.status, 400);
    assert.equal((await call('PATCH', `/api/tasks/${taskId}`, {})).status, 400, 'an update names a field');
    const updated = await call('PATCH', `/api/tasks/${taskId}`, {
      dueDate: '2026-03-01T12:00:00Z',
      followUpDate: '2026-02-20T09:00:00Z',
      candidateGroups: ['finance', 'audit'],
    });
    assert.equal(updated.status, 202, JSON.stringify(updated.json));
    assert.equal(updated.json.state, 'updating');
    const job = await take('check-update');
    assert.equal(job.listenerEventType, 'updating');
    assert.equal(job.headers['io.camunda.zeebe:changedAttributes'], '["candidateGroups","dueDate","followUpDate"]');
    // Camunda's corrections: null keeps the requested value, "" clears it.
    await finish(job, { type: 'userTask', corrections: { dueDate: null, followUpDate: '' } });
    const task = (await call('GET', `/api/tasks/${taskId}`)).json;
    assert.equal(task.state, 'open');
    assert.equal(task.dueDate, '2026-03-01T12:00:00.000Z');
    assert.equal(task.followUpDate, undefined);
    assert.deepEqual(task.candidateGroups, ['finance', 'audit']);
    const due = await call('GET', `/api/tasks?instanceId=${instanceId}&dueBefore=2026-03-02T00:00:00Z`);
    assert.equal(due.json.tasks.length, 1, 'the inbox filters on the changed due date');
  });

  it('corrections of a field no listener may correct are refused; a cancellation while the listener runs cancels the task', async () => {
    const { id } = await start('held');
    const { json } = await call('GET', `/api/tasks?instanceId=${id}`);
    await call('POST', `/api/tasks/${json.tasks[0].id}/assignment`, { assignee: 'ann' });
    const job = await take('check-assignee');
    // A wrong field in the corrections is a 400 from the schema, before anything changes.
    const wrong = await call('POST', `/api/jobs/${job.id}/complete`, {
      worker: 'outside',
      attempt: job.attempt,
      result: { corrections: { formKey: 'other' } },
    });
    assert.equal(wrong.status, 400);
    // Cancelling the instance while the listener runs cancels the task and the job.
    assert.equal((await call('POST', `/api/instances/${id}/cancel`, {})).status, 200);
    const task = (await call('GET', `/api/tasks/${json.tasks[0].id}`)).json;
    assert.equal(task.state, 'cancelled');
    assert.equal(task.assignee, undefined);
  });

  it('a task created with an assignee is assigned after its assigning listeners ran, as in Zeebe', async () => {
    const { task } = await start('owned', { owner: 'dora' });
    assert.equal(task.state, 'assigning');
    assert.equal(task.assignee, undefined);
    const job = await take('check-owner');
    assert.equal(job.headers['io.camunda.zeebe:assignee'], 'dora');
    assert.equal(job.headers['io.camunda.zeebe:userTaskKey'], task.id);
    await finish(job);
    const notify = await take('notify-owner');
    assert.equal(notify.headers['io.camunda.zeebe:userTaskKey'], task.id, 'a later listener job names the task too');
    await finish(notify);
    const assigned = (await call('GET', `/api/tasks/${task.id}`)).json;
    assert.equal(assigned.state, 'open');
    assert.equal(assigned.assignee, 'dora');
  });

  it('a task without listeners changes at once (200), through the API and the cockpit claim', async () => {
    const { task } = await start('plain');
    const assigned = await call('POST', `/api/tasks/${task.id}/assignment`, { assignee: 'erin' });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.json));
    assert.equal(assigned.json.assignee, 'erin');
    const updated = await call('PATCH', `/api/tasks/${task.id}`, { priority: 10, dueDate: null });
    assert.equal(updated.status, 200, JSON.stringify(updated.json));
    assert.equal(updated.json.priority, 10);
    const claimed = await call('POST', `/api/ui/tasks/${task.id}/claim`, { assignee: null });
    assert.equal(claimed.status, 200);
    assert.equal(claimed.json.assignee, undefined);
  });

  it('the cockpit claim of a task with assigning listeners answers 202', async () => {
    const { task } = await start('held');
    const claimed = await call('POST', `/api/ui/tasks/${task.id}/claim`, { assignee: 'fay' });
    assert.equal(claimed.status, 202, JSON.stringify(claimed.json));
    assert.equal(claimed.json.state, 'assigning');
    await finish(await take('check-assignee'));
    assert.equal((await call('GET', `/api/tasks/${task.id}`)).json.assignee, 'fay');
  });
});

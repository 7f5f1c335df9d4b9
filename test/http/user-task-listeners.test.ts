/**
 * Over real HTTP, as an outside worker and a task list would use them: listener jobs (execution
 * start listener, creating task listener) taken with POST /api/jobs/activate carry their event type
 * and the element's zeebe:properties; user tasks carry candidates, dates and priority, and
 * GET /api/tasks filters on them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listenHttp, startTestApi, type HttpClient, type TestApi } from './support/api.ts';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="review-loan" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review loan">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition candidateGroups="=groups" candidateUsers="=reviewers" />
        <zeebe:taskSchedule dueDate="=due" />
        <zeebe:priorityDefinition priority="=urgency" />
        <zeebe:properties><zeebe:property name="queue" value="loans" /></zeebe:properties>
        <zeebe:executionListeners><zeebe:executionListener eventType="start" type="prepare" /></zeebe:executionListeners>
        <zeebe:userTask /><zeebe:taskListeners><zeebe:taskListener eventType="creating" type="pick-reviewers" /></zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

let api: TestApi;
let call: HttpClient['call'];

/** Takes every ready job of `type` over HTTP and completes it with what `output` gives. */
async function work(type: string, expected: number, output: (job: any) => Record<string, unknown>): Promise<any[]> {
  const taken: any[] = [];
  while (taken.length < expected) {
    const { json } = await call('POST', '/api/jobs/activate', {
      type,
      worker: 'outside',
      maxJobs: 10,
      requestTimeoutMs: 5_000,
    });
    for (const job of json.jobs) {
      taken.push(job);
      const done = await call('POST', `/api/jobs/${job.id}/complete`, {
        worker: 'outside',
        attempt: job.attempt,
        variables: output(job),
      });
      assert.equal(done.status, 200, JSON.stringify(done.json));
    }
  }
  return taken;
}

before(async () => {
  api = await startTestApi();
  ({ call } = await listenHttp(api));
  const deployed = await call('POST', '/api/deployments', XML);
  assert.equal(deployed.status, 201, JSON.stringify(deployed.json));
  assert.ok(
    deployed.json.warnings.some((w: string) => w.includes('pick-reviewers')),
    'a listener type no node handles is a deployment warning, like a task type',
  );
});
after(async () => api?.close());

describe('listener jobs and user task filters over HTTP', () => {
  const loans = [
    { groups: ['sales'], due: '2026-02-01T10:00:00Z', urgency: 90, amount: 1 },
    { groups: ['sales', 'risk'], due: '2026-04-01T10:00:00Z', urgency: 20, amount: 2 },
    { groups: ['risk'], due: null, urgency: 50, amount: 3 },
  ];
  const ids: string[] = [];

  it('runs the start listener, then the creating listener, then offers the task', async () => {
    for (const variables of loans) {
      const started = await call('POST', '/api/instances', { bpmnProcessId: 'review-loan', variables });
      assert.equal(started.status, 201);
      ids.push(started.json.instanceId);
    }
    const prepared = await work('prepare', 3, () => ({ prepared: true }));
    assert.deepEqual(
      prepared.map((job) => [job.elementId, job.listenerEventType, job.properties]),
      loans.map(() => ['review', 'start', { queue: 'loans' }]),
    );
    assert.equal(
      (await call('GET', '/api/tasks?state=open')).json.tasks.length,
      0,
      'no task before its creating listener',
    );
    const picked = await work('pick-reviewers', 3, (job) => {
      assert.equal(job.variables.prepared, true, 'the start listener variables are the task locals');
      return { reviewers: job.variables.amount === 1 ? ['ann'] : ['ann', 'bob'] };
    });
    assert.ok(picked.every((job) => job.listenerEventType === 'creating'));
  });

  it('stores candidates, due date, priority and properties on the task', async () => {
    const { json } = await call('GET', `/api/tasks?instanceId=${ids[0]}`);
    const [task] = json.tasks;
    assert.equal(task.name, 'Review loan');
    assert.deepEqual(task.candidateGroups, ['sales']);
    assert.deepEqual(task.candidateUsers, ['ann']);
    assert.equal(task.dueDate, '2026-02-01T10:00:00.000Z');
    assert.equal(task.priority, 90);
    assert.deepEqual(task.properties, { queue: 'loans' });
  });

  it('filters open tasks by candidate user and group, due date and priority', async () => {
    const instancesOf = async (query: string) =>
      (await call('GET', `/api/tasks?state=open&${query}`)).json.tasks.map((t: any) => ids.indexOf(t.instanceId));
    assert.deepEqual(await instancesOf('candidateGroup=sales'), [0, 1]);
    assert.deepEqual(await instancesOf('candidateGroup=risk'), [1, 2]);
    assert.deepEqual(await instancesOf('candidateUser=bob'), [1, 2]);
    assert.deepEqual(await instancesOf('candidateUser=ann&candidateGroup=risk'), [1, 2]);
    assert.deepEqual(await instancesOf('dueBefore=2026-03-01T00:00:00Z'), [0]);
    assert.deepEqual(await instancesOf('dueAfter=2026-03-01T00:00:00%2B01:00'), [1]);
    assert.deepEqual(await instancesOf('minPriority=50'), [0, 2]);
    assert.deepEqual(await instancesOf('maxPriority=50&candidateGroup=risk'), [1, 2]);
    assert.deepEqual(await instancesOf('candidateUser=nobody'), []);
  });

  it('refuses a filter that is not a date-time or a priority, naming it', async () => {
    for (const [query, field] of [
      ['dueBefore=tomorrow', 'dueBefore'],
      ['minPriority=101', 'minPriority'],
    ]) {
      const { status, json } = await call('GET', `/api/tasks?${query}`);
      assert.equal(status, 400);
      assert.equal(json.error.code, 'OPERON_ERR_VALIDATION');
      assert.match(JSON.stringify(json), new RegExp(field!));
    }
  });
});

/**
 * Instance migration over HTTP against PostgreSQL: a waiting instance moves v1 -> v2 and completes
 * on v2; an instance with an unmappable active element is refused and unchanged; a dry run reports
 * the same plan and writes nothing. Batch migrate with mixed results (per-instance rows equal to its
 * dry run), and a batch modify that moves the unmappable ones so that a second batch migrate takes them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from './support/api.ts';
import { processBatchOperations } from '../../engine/store/batch-process.ts';

const XMLNS =
  'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" targetNamespace="http://operon.dev/test"';

/** v1: a gateway sends the order to a review (user task) or to a hold (receive task). */
const V1 = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${XMLNS} id="mig-v1">
  <bpmn:message id="holdMessage" name="release">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="mig" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="route" />
    <bpmn:exclusiveGateway id="route" default="toReview" />
    <bpmn:sequenceFlow id="toReview" sourceRef="route" targetRef="review" />
    <bpmn:sequenceFlow id="toHold" sourceRef="route" targetRef="hold">
      <bpmn:conditionExpression>=path = "hold"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="review" name="Review" />
    <bpmn:receiveTask id="hold" messageRef="holdMessage" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="hold" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

/** v2: review gets a reminder timer and is followed by an approval; the hold is gone. */
const V2 = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${XMLNS} id="mig-v2">
  <bpmn:process id="mig" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review v2" />
    <bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="reminded" />
    <bpmn:endEvent id="reminded" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve" />
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

/** v3: review became a service task, a different kind. */
const V3 = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${XMLNS} id="mig-v3">
  <bpmn:process id="mig" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:serviceTask id="review">
      <bpmn:extensionElements><zeebe:taskDefinition type="noop" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

let api: TestApi;

async function http(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await api.app.inject({
    method: method as 'POST',
    url,
    headers: { ...api.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, body: response.json() };
}

async function ok(method: string, url: string, body?: unknown): Promise<any> {
  const response = await http(method, url, body);
  assert.ok(response.status < 300, `${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function deploy(xml: string): Promise<{ definitionId: string; version: number }> {
  const response = await api.app.inject({
    method: 'POST',
    url: '/api/deployments',
    headers: { ...api.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().processes[0];
}

async function start(path: string, orderId: string): Promise<string> {
  return (await ok('POST', '/api/instances', { bpmnProcessId: 'mig', version: 1, variables: { path, orderId } }))
    .instanceId;
}

/** Every row the instance owns, and the tables a migration writes: equal before and after means nothing was written. */
async function footprint(instanceId: string): Promise<unknown> {
  const k = api.db.knex;
  const count = async (table: string, where: Record<string, unknown> = {}) =>
    Number((await k(table).where(where).count('* as n'))[0]!.n);
  const row = await k('process_instances').where({ id: instanceId }).first();
  return {
    row: { definition: row.definition_id, version: row.version, snapshot: row.snapshot, rowVersion: row.row_version },
    history: await count('history', { process_instance_id: instanceId }),
    audit: await count('audit_log'),
    elements: await k('element_instances')
      .where({ process_instance_id: instanceId })
      .orderBy('seq')
      .select('element_instance_key', 'element_id', 'state'),
    timers: await k('timers')
      .where({ process_instance_id: instanceId })
      .orderBy('timer_key')
      .select('timer_key', 'element_id', 'state'),
    subscriptions: await k('message_subscriptions')
      .where({ process_instance_id: instanceId })
      .orderBy('created_at')
      .select('element_id', 'message_name', 'state'),
    tasks: await k('user_tasks').where({ process_instance_id: instanceId }).select('id', 'element_id', 'state'),
  };
}

let v2: { definitionId: string; version: number };

before(async () => {
  api = await startTestApi();
  assert.equal((await deploy(V1)).version, 1);
  v2 = await deploy(V2);
  assert.equal((await deploy(V3)).version, 3);
});
after(async () => api?.close());

test('dry run reports the plan and writes nothing; the migration then moves the instance and it completes on v2', async () => {
  const id = await start('review', 'A-1');
  const before = await footprint(id);
  const dry = await ok('POST', `/api/instances/${id}/migration`, {
    targetProcessDefinition: { bpmnProcessId: 'mig', version: 2 },
    dryRun: true,
  });
  assert.equal(dry.ok, true, JSON.stringify(dry));
  assert.deepEqual(
    dry.elements.map((e: any) => [e.sourceElementId, e.targetElementId, e.elementType, e.implicit]),
    [['review', 'review', 'userTask', true]],
  );
  assert.deepEqual(await footprint(id), before, 'a dry run writes nothing');

  const taskBefore = await api.db.knex('user_tasks').where({ process_instance_id: id }).first();
  const real = await ok('POST', `/api/instances/${id}/migration`, {
    targetProcessDefinition: { definitionId: v2.definitionId },
    mappings: [{ sourceElementId: 'review', targetElementId: 'review' }],
  });
  assert.equal(real.ok, true);
  assert.deepEqual(real.to, { definitionId: v2.definitionId, bpmnProcessId: 'mig', version: 2 });
  assert.equal(real.elements[0].implicit, undefined);
  const row = await api.db.knex('process_instances').where({ id }).first();
  assert.equal(row.definition_id, v2.definitionId);
  assert.equal(row.version, 2);
  // The user task keeps its id; the new reminder timer of v2 is scheduled on it.
  const task = await api.db.knex('user_tasks').where({ process_instance_id: id }).first();
  assert.equal(task.id, taskBefore.id);
  assert.equal(task.state, 'open');
  const timers = await api.db.knex('timers').where({ process_instance_id: id, state: 'scheduled' });
  assert.deepEqual(
    timers.map((t: any) => [t.element_id, t.definition_id]),
    [['remind', v2.definitionId]],
  );
  const history = await api.db.knex('history').where({ process_instance_id: id, event_type: 'instance.migrated' });
  assert.equal(history.length, 1);
  assert.equal(history[0].payload.to.version, 2);
  const audit = await api.db.knex('audit_log').where({ process_instance_id: id, action: 'instance.migrate' });
  assert.equal(audit.length, 1);

  // On v2, completing review leads to approve (which v1 does not have), then to the end.
  await ok('POST', `/api/tasks/${task.id}/complete`, { variables: {} });
  const approve = await api.db.knex('user_tasks').where({ process_instance_id: id, element_id: 'approve' }).first();
  assert.ok(approve, 'the v2-only approve task was created');
  assert.equal(
    (await api.db.knex('timers').where({ process_instance_id: id, state: 'scheduled' })).length,
    0,
    'the reminder ended with review',
  );
  await ok('POST', `/api/tasks/${approve.id}/complete`, { variables: {} });
  const done = await ok('GET', `/api/instances/${id}`);
  assert.equal(done.state, 'completed');
});

test('an instance whose active element cannot be mapped is refused with the element and stays unchanged', async () => {
  const held = await start('hold', 'H-1');
  const before = await footprint(held);
  const refused = await http('POST', `/api/instances/${held}/migration`, {
    targetProcessDefinition: { bpmnProcessId: 'mig', version: 2 },
  });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'OPERON_ERR_MIGRATION_REFUSED');
  assert.equal(refused.body.error.details.elementId, 'hold');
  assert.deepEqual(await footprint(held), before);
  // The dry run reports the same refusal, as a result.
  const dry = await ok('POST', `/api/instances/${held}/migration`, {
    targetProcessDefinition: { bpmnProcessId: 'mig', version: 2 },
    dryRun: true,
  });
  assert.equal(dry.ok, false);
  assert.equal(dry.elementId, 'hold');
  assert.deepEqual(await footprint(held), before);

  // Another kind: review is a service task in v3; a mapping naming an unknown element.
  const reviewing = await start('review', 'R-1');
  const reviewingBefore = await footprint(reviewing);
  const kind = await http('POST', `/api/instances/${reviewing}/migration`, {
    targetProcessDefinition: { bpmnProcessId: 'mig', version: 3 },
    mappings: [{ sourceElementId: 'review', targetElementId: 'review' }],
  });
  assert.equal(kind.status, 409);
  assert.equal(kind.body.error.details.elementId, 'review');
  assert.match(kind.body.error.message, /userTask and serviceTask/);
  const unknown = await http('POST', `/api/instances/${reviewing}/migration`, {
    targetProcessDefinition: { bpmnProcessId: 'mig', version: 2 },
    mappings: [{ sourceElementId: 'review', targetElementId: 'nope' }],
  });
  assert.equal(unknown.status, 409);
  assert.equal(unknown.body.error.details.elementId, 'nope');
  assert.deepEqual(await footprint(reviewing), reviewingBefore);

  // Bad input: a target that does not exist, a malformed body.
  const missing = await http('POST', `/api/instances/${reviewing}/migration`, {
    targetProcessDefinition: { bpmnProcessId: 'mig', version: 9 },
  });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.details.field, 'targetProcessDefinition');
  const bad = await http('POST', `/api/instances/${reviewing}/migration`, { targetProcessDefinition: { version: 2 } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'OPERON_ERR_VALIDATION');
});

/** Applies batch items the way the workers' timer loop does, until the operation finished. */
async function runBatch(id: string): Promise<any> {
  for (let round = 0; round < 20; round++) {
    await processBatchOperations(api.engine);
    const operation = await ok('GET', `/api/batch-operations/${id}`);
    if (operation.state === 'finished') return operation;
  }
  assert.fail(`batch operation ${id} did not finish`);
}

async function tableCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of [
    'batch_operations',
    'batch_operation_items',
    'history',
    'audit_log',
    'timers',
    'element_instances',
  ])
    counts[table] = Number((await api.db.knex(table).count('* as n'))[0]!.n);
  return counts;
}

test('batch migrate with mixed results: per-instance rows, equal to its dry run; batch modify, then migrate the rest', async () => {
  await start('review', 'B-1');
  await start('review', 'B-2');
  await start('hold', 'B-3');
  const v1 = await api.db.knex('process_instances').where({ bpmn_process_id: 'mig', version: 1, state: 'active' });
  const expected = new Map<string, string>();
  for (const row of v1) expected.set(row.id, row.variables.path === 'hold' ? 'failed' : 'done');
  assert.ok([...expected.values()].includes('failed') && [...expected.values()].includes('done'));

  const body = {
    kind: 'migrate',
    filter: { bpmnProcessId: 'mig', version: 1 },
    migration: { targetProcessDefinition: { bpmnProcessId: 'mig', version: 2 } },
  };
  const before = await tableCounts();
  const dry = await ok('POST', '/api/batch-operations', { ...body, dryRun: true });
  assert.deepEqual(await tableCounts(), before, 'a batch dry run writes nothing');
  assert.equal(dry.total, expected.size);
  assert.deepEqual(new Map(dry.items.map((item: any) => [item.instanceId, item.state])), expected);

  const created = await http('POST', '/api/batch-operations', body);
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const operation = await runBatch(created.body.id);
  assert.equal(operation.kind, 'migrate');
  assert.equal(operation.request.version, 2);
  const failedCount = [...expected.values()].filter((state) => state === 'failed').length;
  assert.deepEqual(operation.progress, {
    total: expected.size,
    pending: 0,
    retried: 0,
    done: expected.size - failedCount,
    failed: failedCount,
    skipped: 0,
  });
  const { items } = await ok('GET', `/api/batch-operations/${created.body.id}/items`);
  for (const item of items) {
    assert.equal(item.state, expected.get(item.instanceId), JSON.stringify(item));
    const dryItem = dry.items.find((d: any) => d.instanceId === item.instanceId);
    assert.deepEqual([item.result, item.error, item.details], [dryItem.result, dryItem.error, dryItem.details]);
    const row = await api.db.knex('process_instances').where({ id: item.instanceId }).first();
    if (item.state === 'done') {
      assert.equal(row.version, 2);
      assert.equal(item.details.elements[0].targetElementId, 'review');
    } else {
      assert.equal(row.version, 1, 'a refused item leaves its instance on v1');
      assert.equal(item.details.elementId, 'hold');
      assert.match(item.error, /hold/);
    }
  }
  // The rows in SQL, as an operator would query them.
  const failedRows = await api.db
    .knex('batch_operation_items')
    .where({ operation_id: created.body.id, state: 'failed' });
  assert.equal(failedRows.length, failedCount);
  const listed = await ok('GET', '/api/batch-operations');
  assert.equal(listed.operations[0].id, created.body.id);

  // Batch modify moves the held ones to review (still on v1); a second batch migrate then takes them all.
  const modify = await ok('POST', '/api/batch-operations', {
    kind: 'modify',
    filter: { bpmnProcessId: 'mig', version: 1, elementId: 'hold' },
    modification: { activate: ['review'], terminateElementIds: ['hold'] },
  });
  assert.equal(modify.total, failedCount);
  assert.equal((await runBatch(modify.id)).progress.done, failedCount);
  const again = await ok('POST', '/api/batch-operations', body);
  assert.equal(again.total, failedCount);
  assert.equal((await runBatch(again.id)).progress.done, failedCount);
  assert.equal(
    (await api.db.knex('process_instances').where({ bpmn_process_id: 'mig', version: 1, state: 'active' })).length,
    0,
  );
  // Instances that already run the target are no items of a migration.
  const none = await ok('POST', '/api/batch-operations', { ...body, filter: { bpmnProcessId: 'mig' }, dryRun: true });
  assert.equal(none.total, 0);
});

/**
 * Concurrency limits written in the model, on PostgreSQL with two workers sharing the database:
 * `operon:maxConcurrent` = 1 on a task lets one of its jobs run at a time, `operon:capacity` =
 * `hold=2` on a process two, whichever worker claims them, while the same task type in a process
 * without a limit runs as many as the workers' pools hold. GET /metrics shows each limit. A limit
 * that is not a whole number ≥ 1, or sits where it means nothing, is refused at deploy with the
 * element id.
 *
 * The node holds its slot until the test lets it go, so the assertions are about counts, never
 * about wall-clock time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeType } from '../../engine/nodes/types.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FAST_WORKER, openEngine, waitFor, waitForState, type TestEngine } from './support/harness.ts';

function holdProcess(
  id: string,
  limits: { process?: Record<string, string>; task?: Record<string, string> } = {},
): { name: string; xml: string } {
  const properties = (entries: Record<string, string> | undefined) =>
    entries
      ? `<zeebe:properties>${Object.entries(entries)
          .map(([name, value]) => `<zeebe:property name="${name}" value="${value}" />`)
          .join('')}</zeebe:properties>`
      : '';
  return {
    name: `${id}.bpmn`,
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-${id}" targetNamespace="http://operon.test">
  <bpmn:process id="${id}" isExecutable="true">
    <bpmn:extensionElements>${properties(limits.process)}</bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work">
      <bpmn:extensionElements><zeebe:taskDefinition type="hold" />${properties(limits.task)}</bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`,
  };
}

/** Holds its slot until `release()`; counts how many jobs of each process run at once. */
let release: () => void = () => undefined;
let released = new Promise<void>((resolve) => (release = resolve));
/** Every job's group, in the order the jobs started. */
const starts: string[] = [];
const running = new Map<string, number>();
const mostAtOnce = new Map<string, number>();
const hold: NodeType = {
  name: 'hold',
  async run(input, ctx) {
    const group = String(input.group);
    starts.push(group);
    running.set(group, (running.get(group) ?? 0) + 1);
    mostAtOnce.set(group, Math.max(mostAtOnce.get(group) ?? 0, running.get(group)!));
    try {
      await new Promise<void>((resolve, reject) => {
        released.then(resolve);
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      });
      // Yield once more, so the next claims race the completion.
      await new Promise((resolve) => setImmediate(resolve));
      return {};
    } finally {
      running.set(group, running.get(group)! - 1);
    }
  },
};

let db: TestDatabase;
let first: TestEngine;
let second: TestEngine;
before(async () => {
  db = await createTestDatabase();
  // Four slots each: the seven jobs that run at once need both workers.
  const worker = { ...FAST_WORKER, capacity: { hold: 4 } };
  first = await openEngine(db.url, { extraNodes: [hold], worker });
  second = await openEngine(db.url, { extraNodes: [hold], worker });
  await first.engine.deploy([
    holdProcess('one-at-a-time', { task: { 'operon:maxConcurrent': '1' } }),
    holdProcess('two-at-a-time', { process: { 'operon:capacity': 'hold=2' } }),
    holdProcess('unlimited'),
  ]);
});
after(async () => {
  release();
  await first?.close();
  await second?.close();
  await db?.drop();
});

const readyJobs = async (bpmnProcessId: string) =>
  Number(
    (
      await db.knex('jobs').where({ bpmn_process_id: bpmnProcessId, state: 'ready' }).count<{ n: string }[]>('* as n')
    )[0]!.n,
  );

describe('concurrency limits in the model', () => {
  it('two workers never run more jobs of a limited task or process at once than its limit; other processes are not held back', async () => {
    const started: string[] = [];
    const start = async (bpmnProcessId: string, n: number) => {
      for (let i = 0; i < n; i++)
        started.push((await first.engine.startInstance(bpmnProcessId, { group: bpmnProcessId })).instanceId);
    };
    await start('one-at-a-time', 4);
    await start('two-at-a-time', 4);
    await start('unlimited', 4);

    await waitFor(
      async () =>
        running.get('unlimited') === 4 && running.get('two-at-a-time') === 2 && running.get('one-at-a-time') === 1,
      20_000,
      'every unlimited job, two capped ones and one limited one to run',
    );
    assert.equal(await readyJobs('one-at-a-time'), 3, 'the other jobs of the limited task wait');
    assert.equal(await readyJobs('two-at-a-time'), 2, 'the other jobs of the capped process wait');
    assert.equal(await readyJobs('unlimited'), 0);
    const [limitedJob] = await db.knex('jobs').where({ bpmn_process_id: 'one-at-a-time' }).limit(1);
    assert.deepEqual(limitedJob.concurrency_limits, { 'task/one-at-a-time/work': 1 });

    // Scraped over HTTP while the jobs hold their slots.
    const app = await buildApp({
      engine: first.engine,
      db: first.knex,
      defaultMetrics: false,
      notifications: first.engine.notifications,
      apiToken: 'op_limits_test',
    });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: 'Bearer op_limits_test' },
      });
      assert.equal(response.statusCode, 200);
      const sample = (name: string, limit: string) =>
        Number(new RegExp(`^${name}\\{limit="${limit}"\\} ([\\d.e+-]+)$`, 'm').exec(response.body)?.[1]);
      assert.equal(sample('operon_job_limit_slots', 'task/one-at-a-time/work'), 1);
      assert.equal(sample('operon_job_limit_running', 'task/one-at-a-time/work'), 1);
      assert.equal(sample('operon_job_limit_waiting', 'task/one-at-a-time/work'), 3);
      assert.equal(sample('operon_job_limit_slots', 'process/two-at-a-time/hold'), 2);
      assert.equal(sample('operon_job_limit_running', 'process/two-at-a-time/hold'), 2);
      assert.equal(sample('operon_job_limit_waiting', 'process/two-at-a-time/hold'), 2);
    } finally {
      await app.close();
    }

    release();
    for (const id of started) await waitForState(first.engine, id, 'completed', 30_000);
    assert.equal(mostAtOnce.get('one-at-a-time'), 1, 'the limited task never ran two jobs at once');
    assert.equal(mostAtOnce.get('two-at-a-time'), 2, 'the capped process never ran three jobs at once');
    assert.equal(mostAtOnce.get('unlimited'), 4);
    const owners = await db
      .knex('jobs')
      .whereIn('bpmn_process_id', ['one-at-a-time', 'two-at-a-time', 'unlimited'])
      .distinct('owner')
      .pluck('owner');
    assert.equal(new Set(owners).size, 2, 'both workers ran jobs');
  });

  it('a limited job waiting behind a flood of unlimited jobs of the same type gets the next free slot', async () => {
    released = new Promise<void>((resolve) => (release = resolve));
    starts.length = 0;
    const FLOOD = 30;
    const started: string[] = [];
    for (let i = 0; i < FLOOD; i++)
      started.push((await first.engine.startInstance('unlimited', { group: 'flood' })).instanceId);
    await waitFor(async () => running.get('flood') === 8, 20_000, 'the flood to take every slot of both workers');
    started.push((await first.engine.startInstance('one-at-a-time', { group: 'one-at-a-time' })).instanceId);
    await waitFor(async () => (await readyJobs('one-at-a-time')) === 1, 20_000, 'the limited job to be ready');
    assert.equal(running.get('one-at-a-time'), 0);

    release();
    for (const id of started) await waitForState(first.engine, id, 'completed', 30_000);
    const place = starts.indexOf('one-at-a-time');
    // Without a slot kept for it, it would start only once fewer flood jobs waited than slots were
    // free: after about 27 of them. With it, the first claims after the release take it.
    assert.ok(place >= 8 && place < 20, `the limited job started as number ${place + 1} of ${starts.length}`);
  });

  it("a job that a migration moves is under the target version's limits from then on", async () => {
    const outside = (limits: { task?: Record<string, string> }) => {
      const file = holdProcess('outside', limits);
      return { ...file, xml: file.xml.replace('type="hold"', 'type="outside-work"') };
    };
    await first.engine.deploy([outside({})]);
    const { instanceId } = await first.engine.startInstance('outside', { group: 'outside' });
    const job = () => db.knex('jobs').where({ process_instance_id: instanceId }).first();
    await waitFor(async () => (await job())?.state === 'ready', 10_000, 'the external job');
    assert.equal((await job()).concurrency_limits, null);
    await first.engine.deploy([outside({ task: { 'operon:maxConcurrent': '3' } })]);
    await first.engine.migrateInstance(instanceId, { target: { bpmnProcessId: 'outside', version: 2 }, mappings: [] });
    assert.deepEqual((await job()).concurrency_limits, { 'task/outside/work': 3 });
  });

  it('a limit that is not a whole number ≥ 1, or sits where it limits nothing, is refused at deploy with the element id', async () => {
    const app = await buildApp({
      engine: first.engine,
      db: first.knex,
      defaultMetrics: false,
      notifications: first.engine.notifications,
      apiToken: 'op_limits_test',
    });
    const deploy = (xml: string) =>
      app.inject({
        method: 'POST',
        url: '/api/deployments',
        headers: { authorization: 'Bearer op_limits_test', 'content-type': 'application/xml' },
        payload: xml,
      });
    try {
      const cases: [string, { process?: Record<string, string>; task?: Record<string, string> }, string, RegExp][] = [
        ['zero', { task: { 'operon:maxConcurrent': '0' } }, 'work', /whole number of at least 1, not "0"/],
        ['words', { task: { 'operon:maxConcurrent': 'two' } }, 'work', /not "two"/],
        ['process-max', { process: { 'operon:maxConcurrent': '-1' } }, 'process-max', /not "-1"/],
        ['capacity-entry', { process: { 'operon:capacity': 'hold=2,bot' } }, 'capacity-entry', /'bot' is not/],
        ['capacity-zero', { process: { 'operon:capacity': 'hold=0' } }, 'capacity-zero', /'hold=0' is not/],
        ['capacity-on-task', { task: { 'operon:capacity': 'hold=1' } }, 'work', /belongs on the process/],
      ];
      for (const [id, limits, elementId, message] of cases) {
        const response = await deploy(holdProcess(`refused-${id}`, limits).xml);
        assert.equal(response.statusCode, 400, `${id}: ${response.body}`);
        const { error } = JSON.parse(response.body);
        assert.equal(error.code, 'OPERON_ERR_BPMN_INVALID', id);
        assert.equal(error.details.elementId, elementId === 'work' ? 'work' : `refused-${id}`, id);
        assert.match(error.message, message, id);
      }
      const onUserTask = holdProcess('refused-user-task')
        .xml.replace('<bpmn:serviceTask id="work">', '<bpmn:userTask id="review">')
        .replace('</bpmn:serviceTask>', '</bpmn:userTask>')
        .replace(
          '<zeebe:taskDefinition type="hold" />',
          '<zeebe:properties><zeebe:property name="operon:maxConcurrent" value="1" /></zeebe:properties>',
        )
        .replaceAll('targetRef="work"', 'targetRef="review"')
        .replaceAll('sourceRef="work"', 'sourceRef="review"');
      const response = await deploy(onUserTask);
      assert.equal(response.statusCode, 400, response.body);
      const { error } = JSON.parse(response.body);
      assert.equal(error.details.elementId, 'review');
      assert.match(error.message, /belongs on a task that creates them/);
      assert.equal(
        Number(
          (
            await db
              .knex('process_definitions')
              .where('bpmn_process_id', 'like', 'refused-%')
              .count<{ n: string }[]>('* as n')
          )[0]!.n,
        ),
        0,
        'nothing refused was deployed',
      );
    } finally {
      await app.close();
    }
  });
});

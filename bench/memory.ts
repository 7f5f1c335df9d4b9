/**
 * `npm run bench:memory` — RSS a worker process adds while 10,000 instances wait on a user task.
 * The worker first runs each instance's service task (start -> noop -> user task -> end), so it has
 * touched every instance; instances then wait in PostgreSQL, not in the worker. Baseline in the same
 * run: the same worker's RSS before any instance existed (after a full GC both times).
 *
 * Usage: tsx bench/memory.ts [--count 10000] [--quick] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createEngine } from '../engine/engine.ts';
import { createNodeRegistry } from '../nodes/index.ts';
import { createBenchDatabase, round, startWorkerProcesses, stopProcesses, waitFor, workerRss } from './lib.ts';

const { values } = parseArgs({
  options: { count: { type: 'string' }, quick: { type: 'boolean', default: false }, json: { type: 'string' } },
});
const count = Number(values.count ?? (values.quick ? 200 : 10_000));

const waitingXml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-review" targetNamespace="http://operon/bench">
  <bpmn:process id="review" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <bpmn:serviceTask id="prepare"><bpmn:extensionElements><zeebe:taskDefinition type="noop" /></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve" />
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

const MB = 1024 * 1024;
const database = await createBenchDatabase(8);
try {
  const engine = createEngine({ db: database.knex, nodes: await createNodeRegistry() });
  await engine.deploy([{ name: 'review.bpmn', xml: waitingXml }]);
  const [worker] = await startWorkerProcesses(1, database.url, 8);
  try {
    // Warm the worker (JIT, pools, graph cache) before the baseline.
    await engine.startInstance('review', {});
    await waitFor(async () => Number((await database.knex('user_tasks').count({ n: '*' }).first())?.n) === 1, 60_000);
    const before = await workerRss(worker!);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < count) {
          next++;
          await engine.startInstance('review', { customer: `c-${next}`, amount: next });
        }
      }),
    );
    await waitFor(
      async () =>
        Number((await database.knex('user_tasks').where({ state: 'open' }).count({ n: '*' }).first())?.n) === count + 1,
      600_000,
      200,
    );
    const seconds = (performance.now() - started) / 1000;
    const after = await workerRss(worker!);
    const addedMb = (after.rss - before.rss) / MB;
    const report = {
      count,
      seconds: round(seconds, 1),
      rssBeforeMb: round(before.rss / MB),
      rssAfterMb: round(after.rss / MB),
      rssAddedMb: round(addedMb),
      heapBeforeMb: round(before.heapUsed / MB),
      heapAfterMb: round(after.heapUsed / MB),
    };
    if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
    console.log(
      `worker rss_before_mb=${report.rssBeforeMb} rss_after_mb=${report.rssAfterMb} heap_before_mb=${report.heapBeforeMb} heap_after_mb=${report.heapAfterMb} (${count} instances, ${report.seconds} s)`,
    );
    console.log(
      `waiting_instances=${count} rss_added_mb=${report.rssAddedMb} per_instance_bytes=${Math.round((after.rss - before.rss) / count)}`,
    );
  } finally {
    await stopProcesses([worker!]);
    await engine.close();
  }
} finally {
  await database.drop();
}

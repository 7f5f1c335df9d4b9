/**
 * Property on PostgreSQL: a random well-formed process (parallel, exclusive and inclusive gateways and
 * loops, nested; tasks with start and end execution listeners, whose jobs are taken like the tasks'), deployed as BPMN XML and run by the engine with its jobs completed in a random order and
 * the engine closed and reopened at random points (every step reads the snapshot back from its
 * row), gives the same completions, in the same order, and the same variables as an uninterrupted
 * in-memory run; every join fires once per split, and the instance ends with no element left active.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDefinitions } from '../../engine/model/index.ts';
import { InMemoryInstance } from '../../engine/runtime/memory.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine, type TestEngine } from '../engine/support/harness.ts';

type Block =
  /** A service task, with start and end execution listeners (jobs of the same type) when set. */
  | { kind: 'task'; start?: boolean; end?: boolean }
  | { kind: 'seq'; blocks: Block[] }
  | { kind: 'par' | 'xor' | 'or'; branches: Block[]; picks: boolean[] }
  /** The body runs `times` times: an exclusive merge before it, a counter and an exclusive gateway looping back after it. */
  | { kind: 'loop'; body: Block; times: number };

const task: fc.Arbitrary<Block> = fc.tuple(fc.nat(3), fc.nat(3)).map(
  ([start, end]): Block => ({
    kind: 'task',
    ...(start === 0 ? { start: true } : {}),
    ...(end === 0 ? { end: true } : {}),
  }),
);

const block: fc.Memo<Block> = fc.memo((depth) =>
  depth <= 1
    ? task
    : fc.oneof(
        { weight: 2, arbitrary: task },
        {
          weight: 1,
          arbitrary: fc
            .array(block(depth - 1), { minLength: 2, maxLength: 2 })
            .map((blocks): Block => ({ kind: 'seq', blocks })),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(
              fc.constantFrom('par' as const, 'xor' as const, 'or' as const),
              fc.array(block(depth - 1), { minLength: 2, maxLength: 3 }),
              fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
            )
            .map(([kind, branches, picks]): Block => ({ kind, branches, picks })),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(block(depth - 1), fc.integer({ min: 1, max: 2 }))
            .map(([body, times]): Block => ({ kind: 'loop', body, times })),
        },
      ),
);

/** BPMN XML for a block-structured process with id `bpmnProcessId`; returns it, each split's join and each loop's entry and counter. */
function toXml(
  root: Block,
  bpmnProcessId: string,
): {
  xml: string;
  joins: Array<{ split: string; join: string }>;
  loops: Array<{ init: string; count: string; times: number }>;
} {
  const parts: string[] = [];
  const joins: Array<{ split: string; join: string }> = [];
  const loops: Array<{ init: string; count: string; times: number }> = [];
  let n = 0;
  const connect = (from: string, to: string, condition?: boolean | string) => {
    const body =
      condition === undefined
        ? ' />'
        : `><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=${condition}</bpmn:conditionExpression></bpmn:sequenceFlow>`;
    parts.push(`<bpmn:sequenceFlow id="Flow_${++n}" sourceRef="${from}" targetRef="${to}"${body}`);
  };
  const emit = (b: Block): [string, string] => {
    if (b.kind === 'task') {
      const id = `Activity_${++n}`;
      const listeners = (['start', 'end'] as const)
        .filter((event) => b[event])
        .map((event) => `<zeebe:executionListener eventType="${event}" type="prop-work" />`)
        .join('');
      parts.push(
        `<bpmn:serviceTask id="${id}"><bpmn:extensionElements><zeebe:taskDefinition type="prop-work" />${
          listeners ? `<zeebe:executionListeners>${listeners}</zeebe:executionListeners>` : ''
        }</bpmn:extensionElements></bpmn:serviceTask>`,
      );
      return [id, id];
    }
    if (b.kind === 'loop') {
      // The counter starts at 0 on each entry, so a loop inside another loop runs `times` again each round.
      const counter = `loop_${++n}`;
      const [init, merge, count, test, exit] = ['Activity', 'Gateway', 'Activity', 'Gateway', 'Event'].map(
        (prefix) => `${prefix}_${++n}`,
      ) as [string, string, string, string, string];
      const script = (id: string, expression: string) =>
        `<bpmn:scriptTask id="${id}"><bpmn:extensionElements><zeebe:script expression="=${expression}" resultVariable="${counter}" /></bpmn:extensionElements></bpmn:scriptTask>`;
      parts.push(
        script(init, '0'),
        `<bpmn:exclusiveGateway id="${merge}" />`,
        script(count, `${counter} + 1`),
        `<bpmn:exclusiveGateway id="${test}" />`,
        `<bpmn:intermediateThrowEvent id="${exit}" />`,
      );
      const [entry, last] = emit(b.body);
      connect(init, merge);
      connect(merge, entry);
      connect(last, count);
      connect(count, test);
      connect(test, merge, `${counter} &lt; ${b.times}`);
      connect(test, exit, `${counter} &gt;= ${b.times}`);
      loops.push({ init, count, times: b.times });
      return [init, exit];
    }
    if (b.kind === 'seq') {
      const emitted = b.blocks.map(emit);
      for (let i = 1; i < emitted.length; i++) connect(emitted[i - 1]![1], emitted[i]![0]);
      return [emitted[0]![0], emitted.at(-1)![1]];
    }
    const tag = b.kind === 'par' ? 'parallelGateway' : b.kind === 'xor' ? 'exclusiveGateway' : 'inclusiveGateway';
    const split = `Gateway_${++n}`;
    const join = `Gateway_${++n}`;
    parts.push(`<bpmn:${tag} id="${split}" />`, `<bpmn:${tag} id="${join}" />`);
    joins.push({ split, join });
    const picks = b.picks.slice(0, b.branches.length);
    b.branches.forEach((branch, i) => {
      const [entry, exit] = emit(branch);
      const picked =
        b.kind === 'xor'
          ? i === Math.max(0, picks.indexOf(true))
          : b.kind === 'or'
            ? picks[i] || (i === 0 && !picks.some(Boolean))
            : true;
      connect(split, entry, b.kind === 'par' ? undefined : picked);
      connect(exit, join);
    });
    return [split, join];
  };
  parts.push('<bpmn:startEvent id="StartEvent_1" />', '<bpmn:endEvent id="EndEvent_1" />');
  const [entry, exit] = emit(root);
  connect('StartEvent_1', entry);
  connect(exit, 'EndEvent_1');
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_${bpmnProcessId}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="${bpmnProcessId}" isExecutable="true">
    ${parts.join('\n    ')}
  </bpmn:process>
</bpmn:definitions>`;
  return { xml, joins, loops };
}

const byKey = (a: string, b: string) => Number(a) - Number(b);

let db: TestDatabase;
let current: TestEngine;
before(async () => {
  db = await createTestDatabase();
  current = await openEngine(db.url, { worker: false });
});
after(async () => {
  await current?.close();
  await db?.drop();
});

describe('persisted and restored at random points (property, PostgreSQL)', () => {
  it('gives the same history as an uninterrupted in-memory run', async () => {
    let runs = 0;
    let listenerJobs = 0;
    await fc.assert(
      fc.asyncProperty(
        block(4),
        fc.array(fc.nat(5), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        async (root, order, restarts) => {
          const bpmnProcessId = `generated-${++runs}`;
          const { xml, joins, loops } = toXml(root, bpmnProcessId);
          const [graph] = await parseDefinitions(xml, `${bpmnProcessId}.bpmn`);

          // Uninterrupted, in memory: open jobs by element instance key (creation order).
          const memory = await new InMemoryInstance(graph!, {}).start();
          for (let i = 0; memory.jobs.size > 0; i++) {
            const open = [...memory.jobs.keys()].sort(byKey);
            await memory.completeJob(open[order[i % order.length]! % open.length]!, { [`v${i}`]: i });
          }

          listenerJobs += memory.history.filter((e) => e.type === 'job.create' && e.listener).length;

          // On PostgreSQL, the same choices, with the engine reopened at random points.
          await current.engine.deploy([{ name: `${bpmnProcessId}.bpmn`, xml }]);
          const { instanceId } = await current.engine.startInstance(bpmnProcessId);
          const leased = new Map<string, string>();
          for (let i = 0; ; i++) {
            for (const job of await current.engine.activateJobs({
              type: 'prop-work',
              worker: 'prop',
              maxJobs: 100,
              lockMs: 60_000,
            }))
              leased.set(job.elementInstanceKey, job.id);
            const open = (
              await current
                .knex('jobs')
                .where({ process_instance_id: instanceId, state: 'leased' })
                .pluck('element_instance_key')
            ).sort(byKey);
            if (open.length === 0) break;
            const key = open[order[i % order.length]! % open.length]!;
            await current.engine.completeJob(leased.get(key)!, { worker: 'prop' }, { [`v${i}`]: i });
            if (restarts[i % restarts.length]) {
              await current.close();
              current = await openEngine(db.url, { worker: false });
            }
          }
          const view = (await current.engine.getInstance(instanceId))!;
          const completions = await current
            .knex('history')
            .where({ process_instance_id: instanceId, event_type: 'element.completed' })
            .orderBy('id')
            .pluck('element_id');
          assert.equal(view.state, 'completed');
          assert.equal(memory.state, 'completed');
          assert.deepEqual(completions, memory.completedElementIds);
          assert.deepEqual(view.variables, memory.variables);
          assert.equal(view.elements.filter((e) => e.state === 'active').length, 0, 'no token left behind');
          for (const { split, join } of joins) {
            assert.equal(
              completions.filter((id) => id === join).length,
              completions.filter((id) => id === split).length,
              `join ${join} fires once per activation of ${split}`,
            );
          }
          for (const { init, count, times } of loops) {
            assert.equal(
              completions.filter((id) => id === count).length,
              times * completions.filter((id) => id === init).length,
              `loop ${init} runs its body ${times} times per entry`,
            );
          }
        },
      ),
      { numRuns: 20 },
    );
    assert.ok(listenerJobs > 0, 'the generated processes ran listener jobs');
  });
});

/**
 * Property: on any block-structured process built from tasks, sequences, parallel, exclusive and
 * inclusive gateways and loops, with jobs completed in any order, the instance completes, every join fires
 * exactly once per activation of its split, no token is left behind, and a run restarted at every
 * step gives the same history.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FlowElement, ProcessGraph } from '../../engine/model/index.ts';
import { InMemoryInstance } from '../../engine/runtime/memory.ts';

type Block =
  | { kind: 'task' }
  | { kind: 'seq'; blocks: Block[] }
  | { kind: 'par' | 'xor' | 'or'; branches: Block[]; picks: boolean[] }
  /** The body runs `times` times: an exclusive merge before it, a counter and an exclusive gateway looping back after it. */
  | { kind: 'loop'; body: Block; times: number };

const block: fc.Memo<Block> = fc.memo((depth) =>
  depth <= 1
    ? fc.constant<Block>({ kind: 'task' })
    : fc.oneof(
        { weight: 2, arbitrary: fc.constant<Block>({ kind: 'task' }) },
        {
          weight: 1,
          arbitrary: fc
            .array(block(depth - 1), { minLength: 2, maxLength: 3 })
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
            .tuple(block(depth - 1), fc.integer({ min: 1, max: 3 }))
            .map(([body, times]): Block => ({ kind: 'loop', body, times })),
        },
      ),
);

/** Builds the graph; returns it, per split gateway its join, and per loop its entry and counter. */
function build(root: Block): {
  graph: ProcessGraph;
  joins: Array<{ split: string; join: string }>;
  loops: Array<{ init: string; count: string; times: number }>;
} {
  const elements: Record<string, FlowElement> = {};
  const flows: ProcessGraph['flows'] = {};
  const joins: Array<{ split: string; join: string }> = [];
  const loops: Array<{ init: string; count: string; times: number }> = [];
  let n = 0;
  const add = (type: FlowElement['type'], extra: Partial<FlowElement> = {}) => {
    const id = `${type}${++n}`;
    elements[id] = { id, type, incoming: [], outgoing: [], ...extra } as FlowElement;
    return id;
  };
  const connect = (from: string, to: string, condition?: string) => {
    const id = `flow${++n}`;
    flows[id] = { id, sourceId: from, targetId: to, ...(condition !== undefined ? { condition } : {}) };
    elements[from]!.outgoing.push(id);
    elements[to]!.incoming.push(id);
  };
  // Returns [entry, exit] of the block.
  const emit = (b: Block): [string, string] => {
    if (b.kind === 'task') {
      const id = add('serviceTask', { job: { taskType: 'work', retries: 3, headers: {} } });
      return [id, id];
    }
    if (b.kind === 'loop') {
      // The counter starts at 0 on each entry, so a loop inside another loop runs `times` again each round.
      const counter = `loop${++n}`;
      const init = add('scriptTask', { script: { expression: '0', resultVariable: counter } });
      const merge = add('exclusiveGateway');
      const [entry, last] = emit(b.body);
      const count = add('scriptTask', { script: { expression: `${counter} + 1`, resultVariable: counter } });
      const test = add('exclusiveGateway');
      const exit = add('intermediateThrowEvent', { eventKind: 'none' });
      connect(init, merge);
      connect(merge, entry);
      connect(last, count);
      connect(count, test);
      connect(test, merge, `${counter} < ${b.times}`);
      connect(test, exit, `${counter} >= ${b.times}`);
      loops.push({ init, count, times: b.times });
      return [init, exit];
    }
    if (b.kind === 'seq') {
      const parts = b.blocks.map(emit);
      for (let i = 1; i < parts.length; i++) connect(parts[i - 1]![1], parts[i]![0]);
      return [parts[0]![0], parts.at(-1)![1]];
    }
    const type = b.kind === 'par' ? 'parallelGateway' : b.kind === 'xor' ? 'exclusiveGateway' : 'inclusiveGateway';
    const split = add(type);
    const join = add(type);
    joins.push({ split, join });
    b.branches.forEach((branch, i) => {
      const [entry, exit] = emit(branch);
      // xor: the first picked branch (or the last one, as default); or: every picked branch (the first if none).
      const picked =
        b.kind === 'xor'
          ? i === Math.max(0, b.picks.slice(0, b.branches.length).indexOf(true))
          : b.kind === 'or'
            ? b.picks[i] || (i === 0 && !b.picks.slice(0, b.branches.length).some(Boolean))
            : true;
      connect(split, entry, b.kind === 'par' ? undefined : String(picked));
      connect(exit, join);
    });
    return [split, join];
  };
  const start = add('startEvent', { eventKind: 'none' });
  const end = add('endEvent', { eventKind: 'none' });
  const [entry, exit] = emit(root);
  connect(start, entry);
  connect(exit, end);
  return {
    graph: {
      graphVersion: 1,
      bpmnProcessId: 'generated',
      startEvents: [{ elementId: start, kind: 'none' }],
      serviceTasks: [],
      elements,
      flows,
    },
    joins,
    loops,
  };
}

async function run(graph: ProcessGraph, order: number[], restartAtEveryStep: boolean): Promise<InMemoryInstance> {
  const instance = await new InMemoryInstance(graph, { restartAtEveryStep }).start();
  for (let i = 0; instance.jobs.size > 0; i++) {
    const open = [...instance.jobs.values()];
    await instance.completeJob(open[order[i % order.length]! % open.length]!.elementInstanceKey, { [`v${i}`]: i });
  }
  return instance;
}

describe('token semantics (property)', () => {
  it('every generated process completes, each join fires once per split, each loop runs its count, in any completion order', async () => {
    await fc.assert(
      fc.asyncProperty(block(4), fc.array(fc.nat(10), { minLength: 1, maxLength: 8 }), async (root, order) => {
        const { graph, joins, loops } = build(root);
        const instance = await run(graph, order, false);
        assert.equal(instance.state, 'completed');
        assert.equal(instance.incidents.size, 0);
        assert.ok(instance.elements.every((e) => e.state === 'completed'));
        const count = (id: string) => instance.elements.filter((e) => e.elementId === id).length;
        for (const { split, join } of joins)
          assert.equal(count(join), count(split), `join ${join} fires once per ${split}`);
        for (const loop of loops)
          assert.equal(
            count(loop.count),
            loop.times * count(loop.init),
            `loop ${loop.init} runs its body ${loop.times} times per entry`,
          );
        assert.deepEqual((instance.snapshot as unknown as { joins: object }).joins, {});
        const restarted = await run(graph, order, true);
        assert.deepStrictEqual(restarted.history, instance.history);
      }),
      { numRuns: 150, seed: 20261129 },
    );
  });
});

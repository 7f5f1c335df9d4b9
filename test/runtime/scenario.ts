/**
 * Given/when/then helpers for runtime feature tests: every scenario runs twice, once straight and
 * once restarted (snapshot round-tripped through JSON) at every step, and both runs must agree.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseDefinitions, type ProcessGraph } from '../../engine/model/index.ts';
import { InMemoryInstance, type InMemoryOptions } from '../../engine/runtime/memory.ts';

const cache = new Map<string, ProcessGraph[]>();

/** The (first, or named) process of a fixture in test/fixtures/bpmn. */
export async function fixture(file: string, bpmnProcessId?: string): Promise<ProcessGraph> {
  let graphs = cache.get(file);
  if (!graphs) {
    const xml = readFileSync(new URL(`../fixtures/bpmn/${file}`, import.meta.url), 'utf8');
    graphs = await parseDefinitions(xml, file, { callActivities: true });
    cache.set(file, graphs);
  }
  const graph = bpmnProcessId ? graphs.find((g) => g.bpmnProcessId === bpmnProcessId) : graphs[0];
  assert.ok(graph, `fixture ${file} has process ${bpmnProcessId}`);
  return graph;
}

/** The snapshot survives JSON unchanged (no undefined, no class instances, no shared references). */
export function assertPlainJson(instance: InMemoryInstance): void {
  assert.deepStrictEqual(JSON.parse(JSON.stringify(instance.snapshot)), instance.snapshot);
}

/**
 * Runs `when` against a fresh instance twice: straight through, and with a restart (JSON
 * round-trip of the snapshot) after every step. Asserts both runs give the same history, state
 * and variables; returns the straight run for the "then" assertions.
 */
export async function scenario(
  graph: ProcessGraph,
  options: InMemoryOptions | (() => InMemoryOptions),
  when: (instance: InMemoryInstance) => Promise<void> = async () => {},
): Promise<InMemoryInstance> {
  // A function gives each run fresh handlers (handlers that count calls).
  const fresh = typeof options === 'function' ? options : () => options;
  const straight = await new InMemoryInstance(graph, fresh()).start();
  await when(straight);
  const restarted = await new InMemoryInstance(graph, { ...fresh(), restartAtEveryStep: true }).start();
  assertPlainJson(restarted);
  await when(restarted);
  assertPlainJson(restarted);
  assert.deepStrictEqual(
    restarted.history,
    straight.history,
    'a run restarted at every wait state gives the same history',
  );
  assert.equal(restarted.state, straight.state);
  assert.deepStrictEqual(restarted.variables, straight.variables);
  return straight;
}

/** Element ids in activation order with their final state, e.g. `start:completed`. */
export function trail(instance: InMemoryInstance): string[] {
  return instance.elements.map((e) => `${e.elementId}:${e.state}`);
}

/** Effects of one type from the history. */
export function effectsOf<T extends InMemoryInstance['history'][number]['type']>(instance: InMemoryInstance, type: T) {
  return instance.history.filter(
    (e): e is Extract<InMemoryInstance['history'][number], { type: T }> => e.type === type,
  );
}

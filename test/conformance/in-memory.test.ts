/** Every conformance case through the pure runtime (runInMemory), straight and restarted at every step. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitions, type ProcessGraph } from '../../engine/model/index.ts';
import { scenario } from '../runtime/scenario.ts';
import { CASES, LISTENER_HANDLERS, SCORE_TASK, UNDO_TASK, conformanceXml, score, undo } from './cases.ts';

const graphs = new Map<string, ProcessGraph>();
async function graph(process: string): Promise<ProcessGraph> {
  if (!graphs.has(process))
    graphs.set(process, (await parseDefinitions(conformanceXml(process), `${process}.bpmn`))[0]!);
  return graphs.get(process)!;
}

describe('BPMN conformance in memory', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const processes = { 'service-task': await graph('service-task') };
      const instance = await scenario(
        await graph(c.process),
        {
          variables: c.variables,
          handlers: { [SCORE_TASK]: score, [UNDO_TASK]: undo, ...LISTENER_HANDLERS },
          processes,
        },
        async (i) => {
          if (c.when?.publish)
            assert.ok(
              await i.publishMessage(c.when.publish.name, c.when.publish.correlationKey, c.when.publish.variables),
              'message correlated',
            );
          if (c.when?.advanceMs) await i.advanceClock(c.when.advanceMs);
        },
      );
      assert.equal(instance.state, 'completed');
      assert.deepEqual(instance.completedElementIds, c.completed);
      const terminated = instance.elements.filter((e) => e.state === 'terminated').map((e) => e.elementId);
      assert.deepEqual(terminated.sort(), [...(c.terminated ?? [])].sort());
      assert.deepEqual(instance.variables, c.finalVariables);
    });
  }
});

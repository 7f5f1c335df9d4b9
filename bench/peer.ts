/**
 * The peer: bpmn-engine (npm) running the same process in memory. The XML is parsed once with
 * bpmn-moddle; each instance is a new bpmn-engine Engine over that moddle context.
 */
import { BpmnModdle } from 'bpmn-moddle';
import { Engine } from 'bpmn-engine';

/** Instances per second bpmn-engine completes, one after another, for `instances` instances. */
export async function runBpmnEngine(xml: string, instances: number): Promise<number> {
  const moddleContext = await new BpmnModdle().fromXML(xml);
  const services = { noop: (_ctx: unknown, next: (error: Error | null, result?: unknown) => void) => next(null, {}) };
  const runOne = async (i: number) => {
    const engine = new Engine({ name: `bench-${i}`, moddleContext: moddleContext as never, services });
    const execution = await engine.execute({ variables: { big: true, n: i } });
    if ((execution.state as string) === 'running') {
      await new Promise<void>((resolve, reject) => {
        engine.once('end', () => resolve());
        engine.once('error', reject);
      });
    }
  };
  for (let i = 0; i < 20; i++) await runOne(i);
  const started = performance.now();
  for (let i = 0; i < instances; i++) await runOne(i);
  return instances / ((performance.now() - started) / 1000);
}

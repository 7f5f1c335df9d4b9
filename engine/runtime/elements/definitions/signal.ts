/** The signal event definition, thrown: the effect names the signal; the thrower goes on at once (fire-and-forget). */
import type { FlowElement, SignalThrowDefinition } from '../../../model/graph.ts';
import type { Variables } from '../../../nodes/types.ts';
import type { Execution } from '../../execution.ts';
import type { ElementInstance } from '../../state.ts';

export function broadcastSignal(x: Execution, ei: ElementInstance, element: FlowElement & SignalThrowDefinition): void {
  x.effects.push({
    type: 'signal.broadcast',
    elementInstanceKey: ei.key,
    elementId: element.id,
    signalName: element.signal.name,
    variables: JSON.parse(JSON.stringify(ei.variables ?? {})) as Variables,
  });
}

/** Call activity: starts a child instance and waits for it; the child's end completes it, its BPMN error is thrown at it. */
import type { CallActivity } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import { throwError } from './definitions/error.ts';
import type { ElementKind } from './kind.ts';

export const callActivity: ElementKind<CallActivity> = {
  activate(x, ei, element) {
    const called = element.calledElement;
    const bpmnProcessId = x.textValue(called.processId, ei.key);
    const variables = called.propagateAllParentVariables
      ? x.variablesForEffect(ei.key)
      : (JSON.parse(JSON.stringify(ei.variables ?? {})) as Variables);
    ei.wait = 'childInstance';
    x.effects.push({
      type: 'childInstance.start',
      elementInstanceKey: ei.key,
      elementId: element.id,
      bpmnProcessId,
      ...(called.versionTag ? { versionTag: called.versionTag } : {}),
      variables,
    });
  },
  onChildInstance(x, ei, element, outcome) {
    if ('completed' in outcome) {
      delete ei.wait;
      const propagate = element.calledElement.propagateAllChildVariables || element.outputs;
      x.complete(ei, propagate ? outcome.completed : undefined);
      return;
    }
    // The wait stays until the error is routed: a catching boundary terminates the call activity, which cancels the child.
    throwError(x, ei, outcome.errorCode, outcome.errorMessage);
    const uncaught = x.state.elements[ei.key];
    if (uncaught?.wait === 'childInstance') {
      delete uncaught.wait;
      x.effects.push({ type: 'childInstance.cancel', elementInstanceKey: ei.key });
    }
  },
  closeWaits(x, ei) {
    if (ei.wait === 'childInstance') x.effects.push({ type: 'childInstance.cancel', elementInstanceKey: ei.key });
  },
};

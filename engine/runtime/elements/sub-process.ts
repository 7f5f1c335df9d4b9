/**
 * Embedded and event subprocesses: a scope of their own (the core counts its tokens and completes
 * it when the last one is consumed). An embedded one opens its event subprocesses and starts at its
 * start event; an event subprocess is started by whoever triggered it (event-subprocess.ts).
 */
import type { SubProcess } from '../../model/graph.ts';
import { openEventSubprocesses } from '../event-subprocess.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

export const subProcess: ElementKind<SubProcess> = {
  activate(x, ei, element) {
    if (ei.tokens !== undefined) return;
    ei.tokens = 0;
    // An event subprocess's start event is triggered by whoever activated it (after its start listeners: here).
    if (element.triggeredByEvent) {
      if (ei.eventTrigger === undefined) return;
      const trigger = ei.eventTrigger;
      delete ei.eventTrigger;
      x.enqueue({ elementId: element.startEventId, flowScopeKey: ei.key, trigger });
      return;
    }
    openEventSubprocesses(x, ei);
    x.enqueue({ elementId: element.startEventId, flowScopeKey: ei.key });
  },
  // Its children end with it (the core terminates a scope's children); its event subprocesses' timers and subscriptions are the scope's.
  closeWaits: opensNoWait,
};

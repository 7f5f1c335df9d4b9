/**
 * Start event: where a scope's token begins. Its definition (message, timer, error, escalation) is
 * waited on by the scope (the process's start subscriptions, an event subprocess's in its
 * enclosing scope: event-subprocess.ts); once reached, it completes at once.
 */
import type { StartEvent } from '../../model/graph.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

export const startEvent: ElementKind<StartEvent> = {
  activate: (x, ei) => x.complete(ei),
  closeWaits: opensNoWait,
};

/** Intermediate catch event: waits for its message or timer; a catching link event is where a throw link lands. */
import type { IntermediateCatchEvent } from '../../model/graph.ts';
import { openTimers } from './definitions/timer.ts';
import { opensNoWait, type ElementKind } from './kind.ts';
import { messageArrived, waitForMessage } from './receive-task.ts';

export const intermediateCatchEvent: ElementKind<IntermediateCatchEvent> = {
  activate(x, ei, element) {
    if (element.eventKind === 'link') return x.complete(ei);
    if (element.eventKind === 'message') return waitForMessage(x, ei, element);
    openTimers(x, ei, [element]);
    ei.wait = 'timer';
  },
  onMessage: (x, ei, element, messageName, variables) =>
    element.eventKind === 'message' && messageArrived(x, ei, element, messageName, variables),
  onTimer(x, ei) {
    delete ei.wait;
    x.complete(ei);
  },
  // Its wait is a timer or a subscription: they close with the instance's (closeTimers, closeSubscriptions).
  closeWaits: opensNoWait,
};

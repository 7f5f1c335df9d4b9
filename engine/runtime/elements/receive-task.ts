/** Receive task: waits for its message (a subscription of its own). */
import type { MessageCatchEvent, ReceiveTask } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import type { Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import { messageNameOf, openSubscription } from './definitions/message.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

/** Opens the element's own message wait. */
export function waitForMessage(x: Execution, ei: ElementInstance, element: ReceiveTask | MessageCatchEvent): void {
  openSubscription(x, ei, element);
  ei.wait = 'message';
}

/** The element's own message arrived: it completes with the message's variables. */
export function messageArrived(
  x: Execution,
  ei: ElementInstance,
  element: ReceiveTask | MessageCatchEvent,
  messageName: string,
  variables: Variables | undefined,
): boolean {
  if (ei.wait !== 'message' || messageNameOf(x, ei, element) !== messageName) return false;
  delete ei.wait;
  x.complete(ei, variables);
  return true;
}

export const receiveTask: ElementKind<ReceiveTask> = {
  activate: waitForMessage,
  onMessage: messageArrived,
  // Its wait is a subscription: it closes with the instance's (closeSubscriptions).
  closeWaits: opensNoWait,
};

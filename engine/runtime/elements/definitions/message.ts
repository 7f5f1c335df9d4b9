/**
 * The message event definition (and caught signals, which are message waits on `signal:<name>`):
 * a subscription opened by the element instance that waits, matched by message name.
 */
import type { MessageCatchEvent, ReceiveTask } from '../../../model/graph.ts';
import { IncidentSignal, type Execution } from '../../execution.ts';
import type { ElementInstance } from '../../state.ts';

/** Opens a subscription of `ei` for the message of `event`; its name and correlation key are evaluated now. */
export function openSubscription(x: Execution, ei: ElementInstance, event: MessageCatchEvent | ReceiveTask): void {
  const message = event.message;
  const messageName = x.textValue(message.name, ei.key);
  const key = x.feel(message.correlationKey!, ei.key);
  if (key === null || key === undefined || typeof key === 'object') {
    throw new IncidentSignal(
      'OPERON_ERR_FEEL_EVAL',
      `correlation key "${message.correlationKey}" of "${event.id}" gave ${JSON.stringify(key)}, expected a string or number`,
      { expression: message.correlationKey },
    );
  }
  ei.subscribed = true;
  x.effects.push({
    type: 'subscription.open',
    elementInstanceKey: ei.key,
    elementId: event.id,
    messageName,
    correlationKey: String(key),
  });
}

/** Closes the subscriptions of `ei` (its own, its boundary events', its event subprocesses'): one effect for all of them. */
export function closeSubscriptions(x: Execution, ei: ElementInstance): void {
  if (ei.subscribed) x.effects.push({ type: 'subscription.close', elementInstanceKey: ei.key });
  delete ei.subscribed;
}

/** The message name an event waits for; undefined when a FEEL name cannot be evaluated now. */
export function messageNameOf(
  x: Execution,
  ei: ElementInstance,
  event: MessageCatchEvent | ReceiveTask,
): string | undefined {
  try {
    return x.textValue(event.message.name, ei.key);
  } catch {
    return undefined;
  }
}

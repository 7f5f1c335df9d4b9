/** Event-based gateway: waits on every following catch event at once; the first to happen wins, the others are cancelled. */
import type { EventBasedGateway, IntermediateCatchEvent } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import type { Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import { messageNameOf, openSubscription } from './definitions/message.ts';
import { timerDue, scheduleTimer } from './definitions/timer.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

/** Validation lets only message and timer catch events follow an event-based gateway. */
type FollowingEvent = Extract<IntermediateCatchEvent, { eventKind: 'timer' | 'message' }>;

function followingEvents(x: Execution, gateway: EventBasedGateway): FollowingEvent[] {
  return gateway.outgoing.map((id) => x.graph.elements[x.graph.flows[id]!.targetId] as FollowingEvent);
}

/** One of the following events happened: the gateway leaves towards it. */
function leaveTowards(x: Execution, gateway: ElementInstance, eventElementId: string, variables?: Variables): void {
  const flowId = x.element(gateway).outgoing.find((id) => x.graph.flows[id]!.targetId === eventElementId)!;
  delete gateway.wait;
  x.complete(gateway, undefined, [flowId], variables ?? {});
}

export const eventBasedGateway: ElementKind<EventBasedGateway> = {
  activate(x, ei, element) {
    const events = followingEvents(x, element);
    const dues = events.map((event) => (event.eventKind === 'timer' ? timerDue(x, ei, event) : undefined));
    ei.timerKeys ??= [];
    events.forEach((event, i) => {
      if (event.eventKind === 'timer') scheduleTimer(x, ei, event, dues[i]!);
      else openSubscription(x, ei, event);
    });
    ei.wait = 'event';
  },
  onMessage(x, ei, element, messageName, variables) {
    if (ei.wait !== 'event') return false;
    for (const event of followingEvents(x, element)) {
      if (event.eventKind === 'message' && messageNameOf(x, ei, event) === messageName) {
        leaveTowards(x, ei, event.id, variables);
        return true;
      }
    }
    return false;
  },
  onTimer(x, ei, _element, timerElementId) {
    leaveTowards(x, ei, timerElementId);
  },
  // The following events' timers and subscriptions are the gateway instance's: they close with it.
  closeWaits: opensNoWait,
};

/** Intermediate throw event: none, message (a job), escalation, compensation, signal or link. */
import type { IntermediateThrowEvent } from '../../model/graph.ts';
import { throwCompensation } from '../compensation.ts';
import { throwEscalation } from './definitions/error.ts';
import { broadcastSignal } from './definitions/signal.ts';
import { closeJob, createJob } from './job-worker.ts';
import type { ElementKind } from './kind.ts';

export const intermediateThrowEvent: ElementKind<IntermediateThrowEvent> = {
  activate(x, ei, element) {
    if (element.eventKind === 'message') return createJob(x, ei, element);
    if (element.eventKind === 'escalation') return throwEscalation(x, ei, element.escalationCode);
    if (element.eventKind === 'compensation') return throwCompensation(x, ei, element);
    if (element.eventKind === 'signal') broadcastSignal(x, ei, element);
    // A throw link hands its token to the catching link event of the same name.
    if (element.eventKind === 'link') x.enqueue({ elementId: element.link.targetId!, flowScopeKey: ei.flowScopeKey });
    x.complete(ei);
  },
  closeWaits: closeJob,
};

/** End event: none, message (a job), error, escalation, compensation, terminate or signal. */
import type { EndEvent } from '../../model/graph.ts';
import { throwCompensation } from '../compensation.ts';
import { throwError, throwEscalation } from './definitions/error.ts';
import { broadcastSignal } from './definitions/signal.ts';
import { closeJob, createJob } from './job-worker.ts';
import type { ElementKind } from './kind.ts';

export const endEvent: ElementKind<EndEvent> = {
  activate(x, ei, element) {
    if (element.eventKind === 'message') return createJob(x, ei, element);
    if (element.eventKind === 'error') return throwError(x, ei, element.errorCode);
    if (element.eventKind === 'escalation') return throwEscalation(x, ei, element.escalationCode);
    if (element.eventKind === 'compensation') return throwCompensation(x, ei, element);
    if (element.eventKind === 'terminate') x.terminateChildren(ei.flowScopeKey, ei.key);
    if (element.eventKind === 'signal') broadcastSignal(x, ei, element);
    x.complete(ei);
  },
  closeWaits: closeJob,
};

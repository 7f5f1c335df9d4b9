/**
 * Error and escalation event definitions: a thrown code is caught from the inside out, by a
 * boundary event of the thrower or of an enclosing subprocess, or by an event subprocess of an
 * enclosing scope, whichever comes first, matching the code before a catch-all.
 */
import type { BoundaryEvent, StartEvent } from '../../../model/graph.ts';
import type { Variables } from '../../../nodes/types.ts';
import { eventSubprocessesOf, triggerEventSubprocess } from '../../event-subprocess.ts';
import type { Execution } from '../../execution.ts';
import { ROOT_KEY, type ElementInstance } from '../../state.ts';
import { boundaryEventsOfInstance, triggerBoundary } from '../boundary-event.ts';
import { startEventOf } from '../../../model/graph.ts';

type ThrownKind = 'error' | 'escalation';

function codeOf(event: BoundaryEvent | StartEvent): string | undefined {
  if (event.eventKind === 'error') return event.errorCode;
  if (event.eventKind === 'escalation') return event.escalationCode;
  return undefined;
}

/** The catcher of `code` among `events`: the one naming the code, else a catch-all. */
function catcherOf<E extends BoundaryEvent | StartEvent>(events: E[], kind: ThrownKind, code: string): E | undefined {
  const candidates = events.filter((e) => e.eventKind === kind);
  return candidates.find((e) => codeOf(e) === code) ?? candidates.find((e) => codeOf(e) === undefined);
}

/** Triggers the catcher of a thrown error or escalation; false if nothing catches it. */
export function catchThrown(
  x: Execution,
  source: ElementInstance,
  kind: ThrownKind,
  code: string,
  variables?: Variables,
): boolean {
  for (let ei: ElementInstance | undefined = source; ei; ) {
    const catcher = catcherOf(boundaryEventsOfInstance(x, ei), kind, code);
    if (catcher) {
      triggerBoundary(x, ei, catcher, variables);
      return true;
    }
    const scope: ElementInstance | undefined = ei.key === ROOT_KEY ? undefined : x.state.elements[ei.flowScopeKey];
    if (!scope) break;
    if (!scope.interrupted) {
      const starts = eventSubprocessesOf(x, scope).map((id) => startEventOf(x.graph, id));
      const start = catcherOf(starts, kind, code);
      if (start) {
        triggerEventSubprocess(x, scope, start, variables);
        return true;
      }
    }
    ei = scope;
  }
  return false;
}

/** A BPMN error thrown at `source` (a job, a child instance, an error end event); uncaught, an incident on the source. */
export function throwError(
  x: Execution,
  source: ElementInstance,
  errorCode: string,
  errorMessage?: string,
  variables?: Variables,
): void {
  if (catchThrown(x, source, 'error', errorCode, variables)) return;
  x.raiseIncident(
    source,
    'error',
    'OPERON_ERR_UNCAUGHT_BPMN_ERROR',
    `BPMN error "${errorCode}" was thrown at "${source.elementId}" and no error boundary event caught it`,
    { errorCode, errorMessage },
    { errorCode, ...(errorMessage !== undefined ? { errorMessage } : {}) },
  );
}

/**
 * An escalation thrown by an intermediate throw or end event. Uncaught, it is not an error (as in
 * Camunda 8); a non-interrupting catch lets the thrower go on.
 */
export function throwEscalation(x: Execution, source: ElementInstance, escalationCode: string): void {
  catchThrown(x, source, 'escalation', escalationCode);
  if (x.state.elements[source.key]) x.complete(source);
}

/**
 * A user task's task listeners (zeebe:taskListener, Camunda 8.8): jobs that run, one after the
 * other, before the task is offered (creating), before a requested assignment, update or completion
 * takes effect (assigning, updating, completing: a listener may correct or deny it), and when the
 * task is terminated (canceling: they hold the termination until their jobs ran, as Zeebe does).
 *
 * The core runs a listener's job (`x.nextListener`) and routes its result here; the task's progress
 * lives on its element instance (`listener`, `completion`, `change`), so an instance stored in the
 * middle of a listener goes on where it stopped.
 */
import type { ListenerDefinition, TaskListenerEvent, UserTask } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import type { UserTaskChange } from '../contract.ts';
import type { Execution } from '../execution.ts';
import type { ElementInstance, IncidentPhase, ListenerEvent } from '../state.ts';

/** The task's listeners of a task listener event. */
export function taskListenersOf(element: UserTask, event: ListenerEvent): ListenerDefinition[] {
  return element.userTask[`${event as TaskListenerEvent}Listeners`] ?? [];
}

/** The phase an incident of a task listener's job stops; resolving it runs that listener again. */
export function taskListenerPhase(event: ListenerEvent): IncidentPhase {
  if (event === 'canceling') return 'terminate';
  if (event === 'completing' || event === 'assigning' || event === 'updating') return 'complete';
  return 'activate';
}

/**
 * Whether the element instance's user task exists, as Zeebe counts it (created, or being created,
 * assigned, updated or completed by its listeners): a termination cancels it, after its canceling
 * listeners.
 */
function userTaskExists(ei: ElementInstance): boolean {
  const event = ei.listener?.event;
  return (
    ei.wait === 'userTask' ||
    event === 'creating' ||
    event === 'completing' ||
    event === 'assigning' ||
    event === 'updating'
  );
}

/** Whether canceling listeners hold the task's termination: the task exists and has some. */
export function cancelingListenersHold(ei: ElementInstance, element: UserTask): boolean {
  return taskListenersOf(element, 'canceling').length > 0 && userTaskExists(ei);
}

/**
 * The task is being terminated and its canceling listeners hold the termination (the core marked it
 * `terminating`): their jobs run, then the task is cancelled and the termination goes on.
 */
export function startCanceling(x: Execution, ei: ElementInstance): void {
  // Whatever the task was doing (a completion, an assignment, an update) never takes effect.
  delete ei.completion;
  delete ei.change;
  ei.listener = { event: 'canceling', index: 0 };
  x.effects.push({ type: 'userTask.canceling', elementInstanceKey: ei.key });
  x.guarded(ei, 'terminate', () => runCanceling(x, ei));
}

/**
 * A task listener's job completed. Creating listeners' variables become local variables of the
 * task, as start listeners' do; an assigning or updating listener's too, with its corrections to the
 * change; a completing listener's join the result the task completes with. Returns why the result
 * is refused (a canceling listener cannot deny), or undefined.
 */
export function taskListenerCompleted(
  x: Execution,
  ei: ElementInstance,
  variables: Variables | undefined,
  answer: { denied?: { reason?: string }; corrections?: UserTaskChange },
): string | undefined {
  const progress = ei.listener!;
  const { denied, corrections } = answer;
  if (progress.event === 'canceling' && denied)
    return `a canceling listener's job of ${ei.elementId} cannot deny the cancellation`;
  delete ei.wait;
  progress.index += 1;
  if (progress.event === 'canceling') {
    // The task's scope ends with it: a canceling listener's variables have nowhere to go.
    x.guarded(ei, 'terminate', () => runCanceling(x, ei));
    return undefined;
  }
  if (progress.event === 'completing' && denied) {
    // The completion is rejected: the later listeners do not run and the task waits again.
    delete ei.completion;
    delete ei.listener;
    ei.wait = 'userTask';
    x.effects.push({
      type: 'userTask.denied',
      elementInstanceKey: ei.key,
      ...(denied.reason !== undefined ? { reason: denied.reason } : {}),
    });
    return undefined;
  }
  if (progress.event === 'completing') {
    if (variables) ei.completion = { ...ei.completion, ...variables };
    x.guarded(ei, 'complete', () => runCompleting(x, ei));
    return undefined;
  }
  if (progress.event === 'assigning' || progress.event === 'updating') {
    if (denied) {
      // The change is rejected: the later listeners do not run and the task waits, unchanged.
      delete ei.change;
      delete ei.listener;
      ei.wait = 'userTask';
      x.effects.push({
        type: 'userTask.changeDenied',
        elementInstanceKey: ei.key,
        event: progress.event,
        ...(denied.reason !== undefined ? { reason: denied.reason } : {}),
      });
      return undefined;
    }
    if (variables) ei.variables = { ...ei.variables, ...variables };
    if (corrections) ei.change!.fields = { ...ei.change!.fields, ...corrections };
    x.guarded(ei, 'complete', () => runChanging(x, ei));
    return undefined;
  }
  // Creating: the task is offered once the last one completed (the activation runs again).
  if (variables) ei.variables = { ...ei.variables, ...variables };
  x.guarded(ei, 'activate', () => x.runActivation(ei));
  return undefined;
}

/**
 * An incident on the task was resolved while its assigning, updating, completing or canceling
 * listeners ran: the listener whose job failed to start runs again (or what comes after the last
 * one). False for anything else (creating listeners retry the activation).
 */
export function resumeTaskListeners(x: Execution, ei: ElementInstance): boolean {
  const event = ei.listener?.event;
  if (event === 'canceling') x.guarded(ei, 'terminate', () => runCanceling(x, ei));
  else if (event === 'completing') x.guarded(ei, 'complete', () => runCompleting(x, ei));
  else if (event === 'assigning' || event === 'updating') x.guarded(ei, 'complete', () => runChanging(x, ei));
  else return false;
  return true;
}

/**
 * A user task completion was requested (`variables`: its result). Without completing listeners
 * the task completes at once; with them it waits for their jobs, one after the other, and
 * completes with the result once the last one completed.
 */
export function requestUserTaskCompletion(x: Execution, ei: ElementInstance, variables: Variables | undefined): void {
  delete ei.wait;
  if (x.listenersOf(ei, 'completing').length === 0) {
    x.complete(ei, variables);
    return;
  }
  ei.completion = variables ?? {};
  ei.listener = { event: 'completing', index: 0 };
  x.guarded(ei, 'complete', () => runCompleting(x, ei));
}

/**
 * An assignment or update of the open user task was requested and it has listeners for it
 * (`event`): their jobs run one after the other, then the change (with their corrections) takes
 * effect and the task waits again.
 */
export function requestUserTaskChange(
  x: Execution,
  ei: ElementInstance,
  event: 'assigning' | 'updating',
  change: UserTaskChange,
  task: UserTaskChange & { id?: string },
): void {
  delete ei.wait;
  ei.change = { fields: { ...change }, task: { ...task } };
  ei.listener = { event, index: 0 };
  x.guarded(ei, 'complete', () => runChanging(x, ei));
}

/** The next assigning / updating listener's job, or (all done) the change takes effect. */
function runChanging(x: Execution, ei: ElementInstance): void {
  const event = ei.listener!.event as 'assigning' | 'updating';
  if (x.nextListener(ei, event, () => ({ headers: userTaskHeaders(ei.change!) }))) return;
  const change = ei.change!.fields;
  delete ei.change;
  delete ei.listener;
  ei.wait = 'userTask';
  x.effects.push({ type: 'userTask.changed', elementInstanceKey: ei.key, event, change });
}

/** The next completing listener's job, or (all done) the user task completes with the requested result. */
function runCompleting(x: Execution, ei: ElementInstance): void {
  // A completing listener also sees the result the task is being completed with.
  if (x.nextListener(ei, 'completing', () => ({ input: { ...x.variablesForEffect(ei.key), ...ei.completion } })))
    return;
  const result = ei.completion;
  delete ei.completion;
  delete ei.listener;
  x.effects.push({ type: 'userTask.completed', elementInstanceKey: ei.key });
  x.complete(ei, result);
}

/** The next canceling listener's job, or (all done) the task is cancelled and its element's termination goes on. */
function runCanceling(x: Execution, ei: ElementInstance): void {
  if (x.nextListener(ei, 'canceling')) return;
  x.effects.push({ type: 'userTask.cancel', elementInstanceKey: ei.key });
  x.finishTermination(ei);
}

/**
 * What an assigning or updating listener's job is told about the user task, as Camunda 8 custom
 * headers: the task's fields with the requested change applied, and which fields it changes.
 */
function userTaskHeaders(change: NonNullable<ElementInstance['change']>): Record<string, string> {
  const { id, ...before } = change.task;
  const after: UserTaskChange = { ...before, ...change.fields };
  const headers: Record<string, string> = id !== undefined ? { 'io.camunda.zeebe:userTaskKey': id } : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  for (const [field, value] of Object.entries(after))
    if (value !== null && value !== undefined) headers[`io.camunda.zeebe:${field}`] = text(value);
  // Sorted: the snapshot is jsonb, which keeps no key order.
  headers['io.camunda.zeebe:changedAttributes'] = JSON.stringify(Object.keys(change.fields).sort());
  return headers;
}

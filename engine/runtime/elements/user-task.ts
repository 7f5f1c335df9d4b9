/**
 * User task: offered to people (assignee, candidates, schedule, priority) after its creating
 * listeners' jobs; completed, assigned and updated through the task API, after the listeners of
 * each; cancelled when its element ends otherwise, after its canceling listeners, which hold the
 * termination until their jobs ran. The task listeners are task-listeners.ts.
 */
import { isFeelExpression, stripFeelMarker } from '../../feel/index.ts';
import type { UserTask } from '../../model/graph.ts';
import { IncidentSignal, type Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import type { ElementKind } from './kind.ts';
import {
  cancelingListenersHold,
  requestUserTaskChange,
  resumeTaskListeners,
  startCanceling,
  taskListenerCompleted,
  taskListenerPhase,
  taskListenersOf,
} from './task-listeners.ts';

export const userTask: ElementKind<UserTask> = {
  activate: offerUserTask,
  closeWaits: cancelUserTask,
  holdsTermination: cancelingListenersHold,
  holdTermination: startCanceling,
  listeners: taskListenersOf,
  listenerCompleted: (x, ei, _element, variables, answer) => taskListenerCompleted(x, ei, variables, answer),
  listenerPhase: taskListenerPhase,
  resume: resumeTaskListeners,
};

/** Cancels the task while it is offered (waiting, or being completed, assigned or updated by its listeners). */
function cancelUserTask(x: Execution, ei: ElementInstance): void {
  const event = ei.listener?.event;
  if (ei.wait === 'userTask' || event === 'completing' || event === 'assigning' || event === 'updating')
    x.effects.push({ type: 'userTask.cancel', elementInstanceKey: ei.key });
}

/**
 * A user task: its creating listeners' jobs first, then the task is offered. A task created with
 * an assignee and assigning listeners is created unassigned and assigned once those listeners'
 * jobs completed, as Zeebe does.
 */
function offerUserTask(x: Execution, ei: ElementInstance, element: UserTask): void {
  if (x.nextListener(ei, 'creating')) return;
  ei.wait = 'userTask';
  const spec = element.userTask;
  const assignee = spec.assignee !== undefined ? x.textValue(spec.assignee, ei.key) : undefined;
  const held = assignee && (spec.assigningListeners?.length ?? 0) > 0;
  const dueDate = spec.dueDate !== undefined ? dateOf(x, ei, 'dueDate', spec.dueDate) : undefined;
  const followUpDate = spec.followUpDate !== undefined ? dateOf(x, ei, 'followUpDate', spec.followUpDate) : undefined;
  const fields = {
    ...(spec.candidateGroups !== undefined
      ? { candidateGroups: candidates(x, ei, 'candidateGroups', spec.candidateGroups) }
      : {}),
    ...(spec.candidateUsers !== undefined
      ? { candidateUsers: candidates(x, ei, 'candidateUsers', spec.candidateUsers) }
      : {}),
    ...(dueDate !== undefined ? { dueDate } : {}),
    ...(followUpDate !== undefined ? { followUpDate } : {}),
    priority: spec.priority !== undefined ? priorityOf(x, ei, spec.priority) : 50,
  };
  x.effects.push({
    type: 'userTask.create',
    elementInstanceKey: ei.key,
    elementId: element.id,
    ...(element.name !== undefined ? { name: element.name } : {}),
    ...(assignee !== undefined && !held ? { assignee } : {}),
    ...(spec.formKey !== undefined ? { formKey: spec.formKey } : {}),
    ...fields,
    ...(element.properties ? { properties: element.properties } : {}),
    input: x.variablesForEffect(ei.key),
    ...(held ? { state: 'assigning' as const } : {}),
  });
  delete ei.listener;
  if (held) requestUserTaskChange(x, ei, 'assigning', { assignee }, { assignee: null, ...fields });
}

function candidates(x: Execution, ei: ElementInstance, field: string, list: string[]): string[] {
  if (list.length !== 1 || !isFeelExpression(list[0])) return list;
  const value = x.feel(stripFeelMarker(list[0]), ei.key);
  if (Array.isArray(value) && value.every((g) => typeof g === 'string')) return value;
  if (typeof value === 'string')
    return value
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
  throw new IncidentSignal(
    'OPERON_ERR_FEEL_EVAL',
    `${field} "${list[0]}" gave ${JSON.stringify(value)}, expected a list of strings`,
    { expression: list[0] },
  );
}

/** zeebe:taskSchedule: an ISO 8601 date-time (literal, or FEEL giving a date-time or a string); null from FEEL leaves it unset. */
function dateOf(x: Execution, ei: ElementInstance, field: string, text: string): string | undefined {
  const value = isFeelExpression(text) ? x.feel(stripFeelMarker(text), ei.key) : text;
  if (value === null || value === undefined) return undefined;
  const parsed = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed))
    throw new IncidentSignal(
      'OPERON_ERR_FEEL_EVAL',
      `${field} "${text}" of "${ei.elementId}" gave ${JSON.stringify(value)}, expected an ISO 8601 date-time`,
      { expression: text },
    );
  return new Date(parsed).toISOString();
}

/** zeebe:priorityDefinition: a whole number from 0 to 100, as in Camunda 8. */
function priorityOf(x: Execution, ei: ElementInstance, text: string): number {
  const value = isFeelExpression(text) ? x.feel(stripFeelMarker(text), ei.key) : Number(text);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100) return value;
  throw new IncidentSignal(
    'OPERON_ERR_FEEL_EVAL',
    `priority "${text}" of "${ei.elementId}" gave ${JSON.stringify(value)}, expected a whole number from 0 to 100`,
    { expression: text },
  );
}

/**
 * Assigning or updating an open user task (the engine's `assignUserTask` and `updateUserTask`).
 * Without task listeners for the event the row changes at once; with them the task becomes
 * `assigning` / `updating` and the instance steps with `userTask.changeRequested`, whose listener
 * jobs then decide: the change (with their corrections) takes effect, or is denied. The audit
 * entry commits with it either way.
 */
import type { Knex } from 'knex';
import type { UserTaskChange, UserTaskChangeOutcome } from '../api.ts';
import { OperonError } from '../errors.ts';
import { userTaskOf } from '../model/index.ts';
import type { GraphCache } from './graph-cache.ts';
import type { UserTaskRow } from './rows.ts';
import { userTaskColumns } from './apply-effects.ts';
import { appendAudit, type Actor } from './audit-log.ts';
import { findUserTaskInstance } from './find-user-task.ts';
import { lockInstance } from './lock-instance.ts';
import { inTransaction } from './notify.ts';
import { stepInstance } from './step-instance.ts';

/** What changing a user task needs from the engine. */
export interface ChangeUserTaskContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts). */
  now: () => Date;
}

/**
 * Applies `change` to the open task `taskId` in a transaction of `db`; `pending` when listeners
 * run first. Throws OPERON_ERR_NOT_FOUND for an unknown task, OPERON_ERR_CONFLICT for one that is
 * not open (or whose instance cannot take the change now).
 */
export async function changeUserTask(
  db: Knex,
  context: ChangeUserTaskContext,
  taskId: string,
  event: 'assigning' | 'updating',
  change: UserTaskChange,
  actor: Actor,
): Promise<UserTaskChangeOutcome> {
  const instanceId = await findUserTaskInstance(db, taskId);
  return inTransaction(db, async (tx) => {
    const instance = await lockInstance(tx, instanceId);
    // Read again under the instance lock: a completion or another change may have come first.
    const task = (await tx<UserTaskRow>('user_tasks').where({ id: taskId }).first())!;
    if (!instance || task.state !== 'open')
      throw new OperonError('OPERON_ERR_CONFLICT', `User task ${taskId} is ${task.state}`, {
        details: { taskId, state: task.state },
      });
    const graph = await context.graphs.get(tx, instance.definition_id);
    const pending = (userTaskOf(graph, task.element_id)?.[`${event}Listeners`]?.length ?? 0) > 0;
    if (!pending) await tx('user_tasks').where({ id: taskId }).update(userTaskColumns(change));
    else {
      await tx('user_tasks').where({ id: taskId }).update({ state: event });
      const date = (value: Date | null) => (value ? value.toISOString() : null);
      const { result } = await stepInstance(
        tx,
        context.graphs,
        task.process_instance_id,
        {
          type: 'userTask.changeRequested',
          elementInstanceKey: task.element_instance_key,
          event,
          change,
          task: {
            id: task.id,
            assignee: task.assignee,
            ...(task.candidate_users ? { candidateUsers: task.candidate_users } : {}),
            ...(task.candidate_groups ? { candidateGroups: task.candidate_groups } : {}),
            dueDate: date(task.due_date),
            followUpDate: date(task.follow_up_date),
            priority: task.priority,
          },
        },
        context.now(),
        instance,
      );
      if (result.ignored)
        throw new OperonError('OPERON_ERR_CONFLICT', `User task ${taskId} cannot change now: ${result.ignored}`, {
          details: { taskId },
        });
    }
    await appendAudit(tx, [
      {
        actor,
        action: event === 'assigning' ? 'task.assign' : 'task.update',
        target: { kind: 'task', id: taskId },
        instanceId: task.process_instance_id,
        change: { elementId: task.element_id, ...change, pending },
      },
    ]);
    return { pending };
  });
}

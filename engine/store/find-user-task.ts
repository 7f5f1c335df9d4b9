import { OperonError } from '../errors.ts';
import type { Db, UserTaskRow } from './rows.ts';

/** The instance of user task `taskId` (no lock: callers lock the instance, then read the task again), or OPERON_ERR_NOT_FOUND. */
export async function findUserTaskInstance(db: Db, taskId: string): Promise<string> {
  const found = await db<UserTaskRow>('user_tasks').where({ id: taskId }).first('process_instance_id');
  if (!found)
    throw new OperonError('OPERON_ERR_NOT_FOUND', `User task ${taskId} does not exist`, { details: { taskId } });
  return found.process_instance_id;
}

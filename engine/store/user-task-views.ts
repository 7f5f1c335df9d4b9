import type { UserTaskSummary } from '../api.ts';
import type { UserTaskRow } from './rows.ts';

/** The columns a `UserTaskSummary` needs: not the variables, which may be megabytes per task. */
export const USER_TASK_SUMMARY_COLUMNS = [
  'id',
  'process_instance_id',
  'element_id',
  'element_instance_key',
  'name',
  'assignee',
  'candidate_groups',
  'candidate_users',
  'form_key',
  'due_date',
  'follow_up_date',
  'priority',
  'properties',
  'state',
  'created_at',
  'completed_at',
] as const;

export function toUserTaskSummary(row: Omit<UserTaskRow, 'variables' | 'result' | 'completed_by'>): UserTaskSummary {
  return {
    id: row.id,
    instanceId: row.process_instance_id,
    elementId: row.element_id,
    elementInstanceKey: row.element_instance_key,
    ...(row.name ? { name: row.name } : {}),
    ...(row.assignee ? { assignee: row.assignee } : {}),
    ...(row.candidate_groups ? { candidateGroups: row.candidate_groups } : {}),
    ...(row.candidate_users ? { candidateUsers: row.candidate_users } : {}),
    ...(row.form_key ? { formKey: row.form_key } : {}),
    ...(row.due_date ? { dueDate: row.due_date.toISOString() } : {}),
    ...(row.follow_up_date ? { followUpDate: row.follow_up_date.toISOString() } : {}),
    priority: row.priority,
    ...(row.properties ? { properties: row.properties } : {}),
    state: row.state,
    createdAt: row.created_at.toISOString(),
    ...(row.completed_at ? { completedAt: row.completed_at.toISOString() } : {}),
  };
}

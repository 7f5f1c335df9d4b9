import type { Knex } from 'knex';
import type { UserTaskFilter, UserTaskSummary, UserTaskView } from '../api.ts';
import type { GraphCache } from './graph-cache.ts';
import { userTaskOf } from '../model/graph.ts';
import type { UserTaskRow } from './rows.ts';
import { withPage } from './page.ts';

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

/** The user tasks `filter` selects, in creation order, one page: the caller chooses the columns. */
export function userTaskQuery(db: Knex, filter: UserTaskFilter): Knex.QueryBuilder {
  const query = db<UserTaskRow>('user_tasks').orderBy([{ column: 'created_at' }, { column: 'id' }]);
  if (filter.id) query.where({ id: filter.id });
  if (filter.state) query.where({ state: filter.state });
  if (filter.instanceId) query.where({ process_instance_id: filter.instanceId });
  if (filter.claimableBy !== undefined) {
    const person = filter.claimableBy;
    query.where((q) => q.whereNull('assignee').orWhere({ assignee: person }));
  }
  if (filter.assignee) query.where({ assignee: filter.assignee });
  if (filter.candidateUser) query.whereRaw('candidate_users @> ARRAY[?]::text[]', [filter.candidateUser]);
  if (filter.candidateGroup) query.whereRaw('candidate_groups @> ARRAY[?]::text[]', [filter.candidateGroup]);
  if (filter.dueBefore) query.where('due_date', '<', filter.dueBefore);
  if (filter.dueAfter) query.where('due_date', '>', filter.dueAfter);
  if (filter.followUpBefore) query.where('follow_up_date', '<', filter.followUpBefore);
  if (filter.followUpAfter) query.where('follow_up_date', '>', filter.followUpAfter);
  if (filter.minPriority !== undefined) query.where('priority', '>=', filter.minPriority);
  if (filter.maxPriority !== undefined) query.where('priority', '<=', filter.maxPriority);
  return withPage(query, filter);
}

/** The user tasks `filter` selects, with their variables. */
export async function listUserTaskViews(db: Knex, filter: UserTaskFilter): Promise<UserTaskView[]> {
  const rows = (await userTaskQuery(db, filter).select('*')) as UserTaskRow[];
  return rows.map((row) => ({ ...toUserTaskSummary(row), variables: row.variables }));
}

/** The user tasks `filter` selects, without their variables (`USER_TASK_SUMMARY_COLUMNS`). */
export async function listUserTaskSummaries(db: Knex, filter: UserTaskFilter): Promise<UserTaskSummary[]> {
  const rows = (await userTaskQuery(db, filter).select(USER_TASK_SUMMARY_COLUMNS)) as UserTaskRow[];
  return rows.map(toUserTaskSummary);
}

/** Who may act on a user task. */
export interface UserTaskCandidates {
  assignee: string | null;
  candidateGroups: string[] | null;
  candidateUsers: string[] | null;
}

/**
 * Who may act on these user tasks: assignee and candidate groups from their rows, candidate users
 * from the BPMN (`zeebe:assignmentDefinition candidateUsers`).
 */
export async function userTaskCandidates(
  db: Knex,
  graphs: GraphCache,
  taskIds: string[],
): Promise<Map<string, UserTaskCandidates>> {
  const rows = (await db('user_tasks as t')
    .join('process_instances as p', 'p.id', 't.process_instance_id')
    .whereIn('t.id', taskIds)
    .select('t.id', 't.element_id', 't.assignee', 't.candidate_groups', 't.candidate_users', 'p.definition_id')) as {
    id: string;
    element_id: string;
    assignee: string | null;
    candidate_groups: string[] | null;
    candidate_users: string[] | null;
    definition_id: string;
  }[];
  const result = new Map<string, UserTaskCandidates>();
  for (const row of rows) {
    const graph = await graphs.get(db, row.definition_id);
    result.set(row.id, {
      assignee: row.assignee,
      candidateGroups: row.candidate_groups,
      // The row's (FEEL evaluated, or changed by an update); rows from before 000013 have none.
      candidateUsers: row.candidate_users ?? userTaskOf(graph, row.element_id)?.candidateUsers ?? null,
    });
  }
  return result;
}

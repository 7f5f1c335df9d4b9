/**
 * Which user tasks a caller may see and work on (docs/security.md): callers who may read every
 * instance see every task; a reviewer sees the tasks nobody holds that are offered to them (a
 * candidate user, a member of a candidate group, or a task that names no candidates) and the tasks
 * they hold. Claiming and completing need the same, except for admins.
 */
import type { Engine, UserTaskSummary } from '../api.ts';
import { forbidden, isCandidate, mayWorkOn, seesAllTasks, type Identity } from './identity.ts';

/** Refuses (403) unless `identity` may work on the task; a task that does not exist is left to the route (404). */
export async function requireTaskAccess(engine: Engine, identity: Identity | undefined, taskId: string): Promise<void> {
  if (!identity) throw forbidden('Not signed in');
  if (identity.roles.includes('admin')) return;
  const candidates = (await engine.userTaskCandidates?.([taskId]))?.get(taskId);
  if (!candidates) return;
  if (!mayWorkOn(identity, candidates))
    throw forbidden(
      candidates.assignee
        ? `User task ${taskId} is held by someone else`
        : `User task ${taskId} is offered to other candidate users or groups`,
      { taskId },
    );
}

/** Refuses (403) a read of a task the caller may not see. */
export async function requireTaskVisible(engine: Engine, identity: Identity | undefined, taskId: string) {
  if (identity && seesAllTasks(identity)) return;
  await requireTaskAccess(engine, identity, taskId);
}

/** Drops the tasks of a page that are not offered to `identity` (the query already left out tasks others hold). */
export async function visibleTasks<T extends UserTaskSummary>(
  engine: Engine,
  identity: Identity,
  tasks: T[],
): Promise<T[]> {
  if (seesAllTasks(identity) || tasks.length === 0) return tasks;
  const candidates = await engine.userTaskCandidates?.(tasks.map((task) => task.id));
  return tasks.filter((task) => {
    const found = candidates?.get(task.id);
    return found !== undefined && (found.assignee === identity.id || isCandidate(identity, found));
  });
}

/**
 * The name a completion is recorded under: the caller's identity. The development token may name
 * someone (`completedBy`, as before identities); anyone else naming another person is refused.
 */
export function completerOf(identity: Identity | undefined, named: string | undefined): string | undefined {
  if (!identity) throw forbidden('Not signed in');
  if (identity.kind === 'dev') return named;
  if (named !== undefined && named !== identity.id)
    throw forbidden(`completedBy must be the signed-in caller (${identity.id})`, { field: 'body.completedBy' });
  return identity.id;
}

/**
 * Who an assignment names: the caller when `requested` is absent, nobody for null. Only the
 * development token may assign someone else; a person claims for themselves.
 */
export function assigneeFor(identity: Identity | undefined, requested: string | null | undefined): string | null {
  if (!identity) throw forbidden('Not signed in');
  const assignee = requested === undefined ? identity.id : requested;
  if (assignee !== null && assignee !== identity.id && identity.kind !== 'dev')
    throw forbidden(`A task can only be claimed for yourself (${identity.id})`, { field: 'body.assignee' });
  return assignee;
}

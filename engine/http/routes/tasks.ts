/** User tasks: the inbox (a page of task summaries), one task with its variables, assigning, updating and completing a task. */
import { lookAhead, toPage } from '../pagination.ts';
import { defineRoute, type RouteContext } from '../route.ts';
import {
  AssignTaskBody,
  CompleteTaskBody,
  InstanceIdParams,
  TaskList,
  TaskListQuery,
  UpdateTaskBody,
  UserTask,
} from '../schemas.ts';
import { OperonError } from '../../errors.ts';
import { seesAllTasks } from '../identity.ts';
import { assigneeFor, completerOf, requireTaskAccess, requireTaskVisible, visibleTasks } from '../task-access.ts';
import { actorOf } from '../actor.ts';

export function taskRoutes(context: RouteContext): void {
  const { engine } = context;

  defineRoute(context, {
    method: 'GET',
    url: '/api/tasks',
    summary:
      'User tasks, oldest first, without their variables, one page at a time; e.g. ?state=open&candidateGroup=sales&dueBefore=2026-03-01T00:00:00Z for an inbox. A reviewer sees only the tasks offered to them or held by them',
    tag: 'tasks',
    permission: 'tasks:read',
    query: TaskListQuery,
    responses: { 200: { description: 'A page of user tasks', schema: TaskList } },
    async handler({ query, request }) {
      const identity = request.identity!;
      const everything = seesAllTasks(identity);
      const date = (text: string | undefined) => (text === undefined ? undefined : new Date(text));
      const rows = await engine.listUserTaskSummaries({
        state: query.state,
        instanceId: query.instanceId,
        ...(everything ? {} : { claimableBy: identity.id }),
        assignee: query.assignee,
        candidateUser: query.candidateUser,
        candidateGroup: query.candidateGroup,
        dueBefore: date(query.dueBefore),
        dueAfter: date(query.dueAfter),
        followUpBefore: date(query.followUpBefore),
        followUpAfter: date(query.followUpAfter),
        minPriority: query.minPriority,
        maxPriority: query.maxPriority,
        ...lookAhead(query),
      });
      // Paged before the candidate filter, so nextOffset stays right; a page may hold fewer tasks.
      const { items, page } = toPage(rows, query);
      return { statusCode: 200, body: { tasks: await visibleTasks(engine, identity, items), page } };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/tasks/:id',
    summary: 'One user task with its variables',
    tag: 'tasks',
    permission: 'tasks:read',
    params: InstanceIdParams,
    responses: { 200: { description: 'The user task', schema: UserTask } },
    async handler({ params, request }) {
      await requireTaskVisible(engine, request.identity, params.id);
      const [task] = await engine.listUserTasks({ id: params.id });
      if (!task)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No user task ${params.id}`, { details: { taskId: params.id } });
      return { statusCode: 200, body: task };
    },
  });

  /** The task after a requested change: 202 while its listeners hold the change, 200 once applied. */
  async function changed(taskId: string, pending: boolean, log: (task: { instanceId: string; id: string }) => void) {
    const [task] = await engine.listUserTasks({ id: taskId });
    if (!task) throw new OperonError('OPERON_ERR_NOT_FOUND', `No user task ${taskId}`, { details: { taskId } });
    log(task);
    return { statusCode: pending ? 202 : 200, body: task };
  }

  defineRoute(context, {
    method: 'POST',
    url: '/api/tasks/:id/assignment',
    summary:
      'Assign an open user task (assignee: the caller, or anyone with the development token), or unassign it (assignee: null). A task with assigning listeners (zeebe:taskListener) answers 202 with state "assigning": the assignment takes effect once their jobs completed, with their corrections, or not at all when one denies it',
    tag: 'tasks',
    permission: 'tasks:complete',
    params: InstanceIdParams,
    body: AssignTaskBody,
    responses: {
      200: { description: 'The task, assigned', schema: UserTask },
      202: { description: 'The task, assigning: its assigning listeners run first', schema: UserTask },
    },
    async handler({ params, body, request }) {
      const assignee = assigneeFor(request.identity, body.assignee);
      await requireTaskAccess(engine, request.identity, params.id);
      if (!engine.assignUserTask) throw new OperonError('OPERON_ERR_CONFLICT', 'This engine cannot assign user tasks');
      const { pending } = await engine.assignUserTask(params.id, assignee, { actor: actorOf(request) });
      return changed(params.id, pending, (task) =>
        request.log.info(
          { instanceId: task.instanceId, taskId: task.id, assignee, pending },
          assignee ? 'user task assigned' : 'user task unassigned',
        ),
      );
    },
  });

  defineRoute(context, {
    method: 'PATCH',
    url: '/api/tasks/:id',
    summary:
      'Change an open user task\'s candidate users and groups, due and follow-up dates (null clears one) or priority. A task with updating listeners (zeebe:taskListener) answers 202 with state "updating": the change takes effect once their jobs completed, with their corrections, or not at all when one denies it',
    tag: 'tasks',
    permission: 'operate',
    params: InstanceIdParams,
    body: UpdateTaskBody,
    responses: {
      200: { description: 'The task, changed', schema: UserTask },
      202: { description: 'The task, updating: its updating listeners run first', schema: UserTask },
    },
    async handler({ params, body, request }) {
      if (!engine.updateUserTask) throw new OperonError('OPERON_ERR_CONFLICT', 'This engine cannot update user tasks');
      const { pending } = await engine.updateUserTask(params.id, body, { actor: actorOf(request) });
      return changed(params.id, pending, (task) =>
        request.log.info(
          { instanceId: task.instanceId, taskId: task.id, fields: Object.keys(body), pending },
          'user task updated',
        ),
      );
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/tasks/:id/complete',
    summary:
      'Complete an open user task; its variables flow into the instance. A task with completing listeners (zeebe:taskListener) answers 202 with state "completing": it completes once their jobs completed. The same completion retried (same completedBy, same variables) answers again and changes nothing',
    tag: 'tasks',
    permission: 'tasks:complete',
    params: InstanceIdParams,
    body: CompleteTaskBody,
    responses: {
      200: { description: 'The completed task', schema: UserTask },
      202: { description: 'The task, completing: its completing listeners run first', schema: UserTask },
    },
    async handler({ params, body, request }) {
      const completedBy = completerOf(request.identity, body.completedBy);
      await requireTaskAccess(engine, request.identity, params.id);
      const { replayed } = await engine.completeUserTask(params.id, body.variables ?? {}, completedBy, {
        actor: actorOf(request),
      });
      const [task] = await engine.listUserTasks({ id: params.id });
      if (!task)
        throw new OperonError('OPERON_ERR_NOT_FOUND', `No user task ${params.id}`, { details: { taskId: params.id } });
      const statusCode = task.state === 'completing' ? 202 : 200;
      if (replayed) return { statusCode, body: task, headers: { 'idempotent-replayed': 'true' } };
      request.log.info(
        { instanceId: task.instanceId, taskId: task.id, elementId: task.elementId },
        statusCode === 202 ? 'user task completing' : 'user task completed',
      );
      return { statusCode, body: task };
    },
  });
}

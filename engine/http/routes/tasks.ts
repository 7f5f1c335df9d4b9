/** User tasks: the inbox and completing a task. */
import { defineRoute, type RouteContext } from '../route.ts';
import { CompleteTaskBody, InstanceIdParams, TaskList, TaskListQuery, UserTask } from '../schemas.ts';
import { OperonError } from '../../errors.ts';

export function taskRoutes(context: RouteContext): void {
  const { engine } = context;

  defineRoute(context, {
    method: 'GET',
    url: '/api/tasks',
    summary: 'User tasks, e.g. ?state=open for the inbox',
    tag: 'tasks',
    auth: 'bearer',
    query: TaskListQuery,
    responses: { 200: { description: 'User tasks', schema: TaskList } },
    async handler({ query }) {
      return { statusCode: 200, body: { tasks: await engine.listUserTasks({ state: query.state, instanceId: query.instanceId }) } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/tasks/:id/complete',
    summary: 'Complete an open user task; its variables flow into the instance',
    tag: 'tasks',
    auth: 'bearer',
    params: InstanceIdParams,
    body: CompleteTaskBody,
    responses: { 200: { description: 'The completed task', schema: UserTask } },
    async handler({ params, body, request }) {
      await engine.completeUserTask(params.id, body.variables ?? {}, body.completedBy);
      const [task] = (await engine.listUserTasks({})).filter((t) => t.id === params.id);
      if (!task) throw new OperonError('OPERON_ERR_NOT_FOUND', `No user task ${params.id}`, { details: { taskId: params.id } });
      request.log.info({ instanceId: task.instanceId, taskId: task.id, elementId: task.elementId }, 'user task completed');
      return { statusCode: 200, body: task };
    },
  });
}

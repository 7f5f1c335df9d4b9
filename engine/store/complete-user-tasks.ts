/**
 * Completes user tasks, one or a batch, through the same body: the engine's `completeUserTask` (the
 * API, the task inbox, embedding code) comes here, gathered by a group commit in engine.ts.
 *
 * One call is one transaction: one statement locks the instances of the tasks (in id order, so two
 * batches never deadlock on each other), the tasks are read under those locks, and each task is
 * checked (it exists, is open, its instance is active, the four-eyes rule), marked completed (or
 * `completing` while completing listeners run), its answer recorded as a decision's reviewed label
 * when it is a review, and its instance stepped once with `userTask.completed`; the audit entries go
 * out last, in one append. A completion that does not pass its checks settles with the error that
 * says why and changes nothing; the same person sending the same answer again is told it was
 * applied (`replayed`).
 *
 * When the transaction fails for a reason other than the database going away (a refused review
 * label, a step that cannot be written), the completions are applied again one by one, each in its
 * own transaction, by this same function: the one that still fails gets its error and leaves its
 * task open; the others complete.
 */
import type { Knex } from 'knex';
import type { Applied } from '../api.ts';
import { OperonError } from '../errors.ts';
import type { Variables } from '../nodes/types.ts';
import type { GraphCache } from './graph-cache.ts';
import { userTaskOf } from '../model/graph.ts';
import type { Db, InstanceRow, UserTaskRow } from './rows.ts';
import { json } from './rows.ts';
import { emptyPlainRows, writePlainRows } from './apply-effects.ts';
import { appendAudit, type Actor, type AuditEntry } from './audit-log.ts';
import { inTransaction } from './notify.ts';
import { recordReviewedLabel } from './record-reviewed-label.ts';
import { workMetrics } from '../telemetry/metrics.ts';
import { failedAlone, stepInBatch, type Settled } from './step-batch.ts';
import { instanceNotActive, instanceNotFound } from './step-instance.ts';
import { isTransientDatabaseError } from './transient-error.ts';

/** One user task completion: the task, the answer, who completes it. */
export interface UserTaskCompletion {
  taskId: string;
  variables: Variables;
  /** Who completes it (`user_tasks.completed_by`); the four-eyes rule needs one. */
  completedBy?: string;
  /** Who acted, for the audit trail. */
  actor: Actor;
}

/** What completing user tasks needs from the engine. */
export interface CompleteUserTasksContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts), read once per transaction. */
  now: () => Date;
}

/**
 * Applies `items` (tasks of distinct instances) in one transaction of `db` and returns one outcome
 * per item, in order. Throws only when the database went away: then nothing was written.
 */
export async function completeUserTasks(
  db: Knex,
  context: CompleteUserTasksContext,
  items: UserTaskCompletion[],
): Promise<Settled<Applied>[]> {
  if (items.length === 0) return [];
  try {
    const reviews: { model: string; overruled: boolean }[] = [];
    const settled = await inTransaction(db, (tx) => applyCompletions(tx, context, items, reviews));
    // Counted once the reviews committed: a batch that rolled back and ran again alone counts once.
    for (const review of reviews) workMetrics.review(review.model, review.overruled);
    return settled;
  } catch (error) {
    if (isTransientDatabaseError(error) || items.length === 1) throw error;
    // Which one failed the transaction is not known: each again on its own, so only that one fails.
    const settled: Settled<Applied>[] = [];
    for (const item of items) settled.push(...(await completeUserTasks(db, context, [item]).catch(alone)));
    return settled;
  }
}

async function applyCompletions(
  tx: Knex.Transaction,
  context: CompleteUserTasksContext,
  items: UserTaskCompletion[],
  reviews: { model: string; overruled: boolean }[],
): Promise<Settled<Applied>[]> {
  const now = context.now();
  const { instances, tasks } = await lockTasks(tx, items);
  const plain = emptyPlainRows();
  const audit: AuditEntry[] = [];
  const settled: Settled<Applied>[] = [];
  for (const item of items) {
    const task = tasks.get(item.taskId);
    const instance = task ? instances.get(task.process_instance_id) : undefined;
    const refusal = task ? await refuse(tx, context, item, task, instance) : taskNotFound(item.taskId);
    if (refusal) {
      settled.push(refusal);
      continue;
    }
    const graph = await context.graphs.get(tx, instance!.definition_id);
    // With completing listeners (zeebe:taskListener) the task stays `completing` until their jobs completed.
    const held = (userTaskOf(graph, task!.element_id)?.completingListeners?.length ?? 0) > 0;
    await tx('user_tasks')
      .where({ id: item.taskId })
      .update({
        state: held ? 'completing' : 'completed',
        result: json(item.variables),
        completed_by: item.completedBy ?? null,
        completed_at: held ? null : tx.fn.now(),
      });
    // A refused review label throws: the batch is applied again one by one, and only this completion fails.
    const review = await recordReviewedLabel(tx, task!, item.variables, item.completedBy);
    if (review) reviews.push({ model: review.model, overruled: review.overruled });
    await stepInBatch(
      tx,
      context.graphs,
      plain,
      instance!,
      { type: 'userTask.completed', elementInstanceKey: task!.element_instance_key, variables: item.variables },
      now,
    );
    audit.push({
      actor: item.actor,
      action: 'task.complete',
      target: { kind: 'task', id: item.taskId },
      instanceId: task!.process_instance_id,
      change: { elementId: task!.element_id, completedBy: item.completedBy ?? null, variables: item.variables },
    });
    if (review)
      audit.push({
        actor: item.actor,
        action: 'decision.review',
        target: { kind: 'decision', id: review.decisionId },
        instanceId: task!.process_instance_id,
        change: { reviewedLabel: review.label, reviewedBy: review.reviewer, taskId: item.taskId },
      });
    settled.push({ ok: true, value: { replayed: false } });
  }
  await writePlainRows(tx, plain, now);
  // The audit chain's lock is taken last (audit-log.ts).
  if (audit.length > 0) await appendAudit(tx, audit);
  return settled;
}

/**
 * Locks the instances of the tasks (one statement, in id order) and reads the tasks under those
 * locks: a completion or change that came first is seen.
 */
async function lockTasks(
  tx: Db,
  items: UserTaskCompletion[],
): Promise<{ instances: Map<string, InstanceRow>; tasks: Map<string, UserTaskRow> }> {
  // An id that is no UUID names no task (and must not fail the batch's statement).
  const taskIds = items.map((item) => item.taskId).filter((id) => UUID.test(id));
  if (taskIds.length === 0) return { instances: new Map(), tasks: new Map() };
  const { rows } = await tx.raw(
    `SELECT * FROM process_instances
      WHERE id IN (SELECT process_instance_id FROM user_tasks WHERE id = ANY(?::uuid[]))
      ORDER BY id FOR UPDATE`,
    [taskIds] as never,
  );
  const instances = new Map((rows as InstanceRow[]).map((row) => [row.id, row]));
  const tasks = new Map(
    ((await tx<UserTaskRow>('user_tasks').whereIn('id', taskIds)) as UserTaskRow[]).map((row) => [row.id, row]),
  );
  return { instances, tasks };
}

/**
 * Why this completion changes nothing, if it does not: the task is not open (unless this is the
 * same answer again: replayed), its instance is gone or ended, or the four-eyes rule refuses it.
 */
async function refuse(
  tx: Db,
  context: CompleteUserTasksContext,
  item: UserTaskCompletion,
  task: UserTaskRow,
  instance: InstanceRow | undefined,
): Promise<Settled<Applied> | undefined> {
  if (task.state !== 'open') {
    // The same person sending the same result again (a retry whose answer was lost) is told it is done.
    const same = await tx('user_tasks')
      .where({ id: item.taskId, completed_by: item.completedBy ?? null })
      .whereIn('state', ['completing', 'completed'])
      .andWhere(tx.raw('result = ?::jsonb', [json(item.variables)]))
      .first('id');
    if (same) return { ok: true, value: { replayed: true } };
    return failedAlone(
      new OperonError('OPERON_ERR_CONFLICT', `User task ${item.taskId} is not open`, {
        details: { taskId: item.taskId },
      }),
    );
  }
  if (!instance) return failedAlone(instanceNotFound(task.process_instance_id));
  if (instance.state !== 'active') return failedAlone(instanceNotActive(instance));
  const fourEyes = await checkFourEyes(tx, context, instance, task, item.completedBy);
  return fourEyes ? failedAlone(fourEyes) : undefined;
}

/**
 * A user task marked `operon:fourEyes` (docs/security.md) may not be completed by whoever started
 * its instance nor by whoever completed an earlier user task of it; nor anonymously. Checked
 * under the instance lock, so two completions cannot both slip past it.
 */
async function checkFourEyes(
  tx: Db,
  context: CompleteUserTasksContext,
  instance: InstanceRow,
  task: UserTaskRow,
  completedBy?: string,
): Promise<OperonError | undefined> {
  const graph = await context.graphs.get(tx, instance.definition_id);
  if (!userTaskOf(graph, task.element_id)?.fourEyes) return undefined;
  const refusal = (rule: string, message: string) =>
    new OperonError('OPERON_ERR_FOUR_EYES', message, {
      details: { taskId: task.id, instanceId: instance.id, elementId: task.element_id, rule },
    });
  if (!completedBy) return refusal('anonymous', `User task ${task.id} needs a second person: say who completes it`);
  if (instance.started_by && instance.started_by === completedBy)
    return refusal('starter', `User task ${task.id} needs a second person: ${completedBy} started this instance`);
  const earlier = await tx('user_tasks')
    .where({ process_instance_id: instance.id, state: 'completed', completed_by: completedBy })
    .whereNot({ id: task.id })
    .first('id');
  if (earlier)
    return refusal(
      'earlier-reviewer',
      `User task ${task.id} needs a second person: ${completedBy} completed an earlier task of this instance`,
    );
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function taskNotFound(taskId: string): Settled<Applied> {
  return failedAlone(
    new OperonError('OPERON_ERR_NOT_FOUND', `User task ${taskId} does not exist`, { details: { taskId } }),
  );
}

function alone(error: unknown): Settled<Applied>[] {
  if (isTransientDatabaseError(error)) throw error;
  return [failedAlone(error)];
}

/**
 * Writes the effects of runtime steps into the tables, inside the step's transaction (outbox
 * style): nothing here talks to the outside world. Wake-ups go out as NOTIFY, which PostgreSQL
 * delivers only at commit.
 *
 * The one effect writer: `EFFECT_WRITERS` holds, for every effect type, the rows it adds to a
 * step's single statement (write-step-rows.ts) and what else it writes. A single instance's step
 * (`applyEffects`) and a batch of steps (step-batch.ts, through `addPlainEffect`) both write
 * through it; the record is typed over `Effect['type']`, so tsc refuses an effect without a writer.
 */
import type { TraceContext } from '../telemetry/trace.ts';
import { randomUUID } from 'node:crypto';
import type { Effect, RuntimeEvent, UserTaskChange } from '../runtime/contract.ts';
import type { Db, HistoryEntry, MessageRow } from './rows.ts';
import { json } from './rows.ts';
import { emptyStepRows, endedKey, instanceEndParts, writeStepRows, type StepRows } from './write-step-rows.ts';
import { CHANNELS, notify } from './notify.ts';
import { lockCorrelation } from './lock-correlation.ts';
import { broadcastSignal, handOverChildCancel, handOverChildStart } from './handovers.ts';

export interface InstanceRef {
  id: string;
  definitionId: string;
  bpmnProcessId: string;
  /** The span of the step whose effects these are: the jobs it creates keep it (docs/observability.md). */
  trace?: TraceContext;
}

/**
 * Rows collected from plain effects, of one step or of several instances' steps written together
 * (step-batch.ts), waiting for one `writeStepRows`.
 */
export interface PlainRows {
  rows: StepRows;
  /** Element instances activated in the rows not yet written, by `endedKey`: an ending in the same write updates the row to insert. */
  activations: Map<string, Record<string, unknown>>;
  /** Job types created: a wake-up for each goes out after commit. */
  jobTypes: Set<string>;
}

export function emptyPlainRows(history: HistoryEntry[] = []): PlainRows {
  return { rows: emptyStepRows(history), activations: new Map(), jobTypes: new Set() };
}

/**
 * Writes the collected rows (one round trip) and empties them; asks for the wake-ups they call for
 * (new jobs' types, and for ended instances their cancelled jobs and their waiters).
 */
export async function writePlainRows(tx: Db, plain: PlainRows, now: Date): Promise<void> {
  const ended = plain.rows.instancesEnded;
  const cancelled = await writeStepRows(tx, now, plain.rows);
  plain.activations.clear();
  for (const type of plain.jobTypes) await notify(tx, CHANNELS.jobs, type);
  plain.jobTypes.clear();
  if (ended.length > 0) await notifyInstancesEnded(tx, ended, cancelled);
}

/** Appends one history row of `instance` to `rows` (event, element instance key, element id, payload). */
type HistoryWriter = (
  event: string,
  key: string | undefined,
  elementId: string | undefined,
  payload?: Record<string, unknown>,
) => void;

function historyWriter(rows: PlainRows['rows'], instance: InstanceRef): HistoryWriter {
  return (event, key, elementId, payload) =>
    rows.history.push({
      process_instance_id: instance.id,
      element_instance_key: key ?? null,
      element_id: elementId ?? null,
      event_type: event,
      payload: payload ?? null,
    });
}

/** What an effect's rows are collected into. */
interface RowsContext {
  plain: PlainRows;
  instance: InstanceRef;
  now: Date;
  history: HistoryWriter;
}

/** What an effect's other writes need: the step's transaction, and what the step gives back. */
interface WriteContext extends RowsContext {
  tx: Db;
  /** Follow-up events for the same instance (a buffered message taken by a subscription this step opened). */
  followUps: RuntimeEvent[];
  /** User tasks created in this step, by element instance key: their assigning listeners' jobs name them. */
  createdTasks: Map<string, string>;
}

type EffectOf<T extends Effect['type']> = Extract<Effect, { type: T }>;

/** How one effect type is written. */
interface EffectWriter<E extends Effect> {
  /** The rows the effect adds to the step's single statement; no I/O. */
  rows?: (context: RowsContext, effect: E) => void;
  /** What the effect writes otherwise, once the rows collected before it went out. */
  write?: (context: WriteContext, effect: E) => Promise<void>;
  /**
   * Whether the effect may join a batch's shared statement with its `rows` alone. Default: when it
   * has no `write`. (A terminated element's `write` closes waits that only a step with other,
   * non-plain effects can leave behind.)
   */
  plain?: boolean;
}

/** Effect type -> its writer: the only place an effect becomes rows. */
const EFFECT_WRITERS: { [T in Effect['type']]: EffectWriter<EffectOf<T>> } = {
  'element.activated': {
    rows: ({ plain, instance, now, history }, effect) => {
      const activation = {
        process_instance_id: instance.id,
        element_instance_key: effect.elementInstanceKey,
        element_id: effect.elementId,
        element_type: effect.elementType,
        element_name: effect.elementName ?? null,
        parent_key: effect.flowScopeKey ?? effect.parentKey ?? null,
        state: 'active',
        started_at: now,
        ended_at: null as Date | null,
      };
      plain.activations.set(endedKey(instance.id, effect.elementInstanceKey), activation);
      plain.rows.elementsActivated.push(activation);
      history('element.activated', effect.elementInstanceKey, effect.elementId, { elementType: effect.elementType });
    },
  },
  'element.completed': { rows: (context, effect) => endElement(context, effect, 'completed') },
  'element.terminated': {
    rows: (context, effect) => endElement(context, effect, 'terminated'),
    // Its job may have been created in this very step: written before, with the rows.
    write: ({ tx, instance, now }, effect) => cancelElementWaits(tx, instance.id, effect.elementInstanceKey, now),
    plain: true,
  },
  'flow.taken': { rows: ({ history }, effect) => history('flow.taken', effect.sourceKey, effect.flowId) },
  'job.create': {
    rows: ({ plain, instance, now, history }, effect) => {
      const id = randomUUID();
      plain.rows.jobs.push({
        id,
        process_instance_id: instance.id,
        element_instance_key: effect.elementInstanceKey,
        element_id: effect.elementId,
        bpmn_process_id: instance.bpmnProcessId,
        type: effect.taskType,
        state: 'ready',
        retries: effect.retries,
        max_retries: effect.retries,
        run_at: now,
        headers: effect.headers,
        variables: effect.input,
        listener_event_type: effect.listener ?? null,
        properties: effect.properties ?? null,
        concurrency_limits: effect.limits ?? null,
        trace_parent: instance.trace?.traceparent ?? null,
        trace_state: instance.trace?.tracestate ?? null,
      });
      plain.jobTypes.add(effect.taskType);
      history('job.created', effect.elementInstanceKey, effect.elementId, {
        jobId: id,
        type: effect.taskType,
        ...(effect.listener ? { listener: effect.listener } : {}),
      });
    },
  },
  'job.cancel': {
    write: async ({ tx, instance, now, history }, effect) => {
      await cancelJobs(tx, instance.id, effect.elementInstanceKey, now);
      history('job.cancelled', effect.elementInstanceKey, undefined);
    },
  },
  'userTask.create': {
    write: async ({ tx, instance, now, history, createdTasks }, effect) => {
      const id = randomUUID();
      await tx('user_tasks').insert({
        id,
        process_instance_id: instance.id,
        element_instance_key: effect.elementInstanceKey,
        element_id: effect.elementId,
        name: effect.name ?? null,
        assignee: effect.assignee ?? null,
        candidate_groups: effect.candidateGroups ?? null,
        candidate_users: effect.candidateUsers ?? null,
        form_key: effect.formKey ?? null,
        due_date: effect.dueDate ?? null,
        follow_up_date: effect.followUpDate ?? null,
        priority: effect.priority,
        properties: effect.properties ? json(effect.properties) : null,
        state: effect.state ?? 'open',
        variables: json(effect.input),
        created_at: now,
      });
      history('userTask.created', effect.elementInstanceKey, effect.elementId, { userTaskId: id });
      createdTasks.set(effect.elementInstanceKey, id);
    },
  },
  'userTask.cancel': {
    write: async ({ tx, instance, now, history }, effect) => {
      await tx('user_tasks')
        .where({ process_instance_id: instance.id, element_instance_key: effect.elementInstanceKey })
        .whereIn('state', LIVE_TASK_STATES)
        .update({ state: 'cancelled', completed_at: now });
      history('userTask.cancelled', effect.elementInstanceKey, undefined);
    },
  },
  'userTask.canceling': {
    write: async ({ tx, instance, history }, effect) => {
      await tx('user_tasks')
        .where({ process_instance_id: instance.id, element_instance_key: effect.elementInstanceKey })
        .whereIn('state', ['open', 'assigning', 'updating', 'completing'])
        .update({ state: 'canceling' });
      history('userTask.canceling', effect.elementInstanceKey, undefined);
    },
  },
  'userTask.completed': {
    write: async ({ tx, instance, now }, effect) => {
      await tx('user_tasks')
        .where({
          process_instance_id: instance.id,
          element_instance_key: effect.elementInstanceKey,
          state: 'completing',
        })
        .update({ state: 'completed', completed_at: now });
    },
  },
  'userTask.denied': {
    write: async ({ tx, instance, history }, effect) => {
      await tx('user_tasks')
        .where({
          process_instance_id: instance.id,
          element_instance_key: effect.elementInstanceKey,
          state: 'completing',
        })
        .update({ state: 'open', result: null, completed_by: null, completed_at: null });
      history(
        'userTask.completionDenied',
        effect.elementInstanceKey,
        undefined,
        effect.reason !== undefined ? { reason: effect.reason } : undefined,
      );
    },
  },
  'userTask.changed': {
    write: async ({ tx, instance, history }, effect) => {
      await tx('user_tasks')
        .where({ process_instance_id: instance.id, element_instance_key: effect.elementInstanceKey })
        .whereIn('state', ['assigning', 'updating'])
        .update({ ...userTaskColumns(effect.change), state: 'open' });
      history(
        effect.event === 'assigning' ? 'userTask.assigned' : 'userTask.updated',
        effect.elementInstanceKey,
        undefined,
        { change: effect.change },
      );
    },
  },
  'userTask.changeDenied': {
    write: async ({ tx, instance, history }, effect) => {
      await tx('user_tasks')
        .where({ process_instance_id: instance.id, element_instance_key: effect.elementInstanceKey })
        .whereIn('state', ['assigning', 'updating'])
        .update({ state: 'open' });
      history(
        effect.event === 'assigning' ? 'userTask.assignmentDenied' : 'userTask.updateDenied',
        effect.elementInstanceKey,
        undefined,
        effect.reason !== undefined ? { reason: effect.reason } : undefined,
      );
    },
  },
  'timer.schedule': {
    write: async ({ tx, instance, history }, effect) => {
      await tx('timers').insert({
        id: randomUUID(),
        process_instance_id: instance.id,
        definition_id: instance.definitionId,
        timer_key: effect.timerKey,
        element_instance_key: effect.elementInstanceKey,
        element_id: effect.elementId,
        due_at: new Date(effect.dueAt),
        cycle: effect.cycle ?? null,
        state: 'scheduled',
      });
      await notify(tx, CHANNELS.timers, effect.dueAt);
      history('timer.scheduled', effect.elementInstanceKey, effect.elementId, {
        timerKey: effect.timerKey,
        dueAt: effect.dueAt,
      });
    },
  },
  'timer.cancel': {
    write: async ({ tx, instance, history }, effect) => {
      await tx('timers')
        .where({ process_instance_id: instance.id, timer_key: effect.timerKey, state: 'scheduled' })
        .update({ state: 'cancelled' });
      history('timer.cancelled', undefined, undefined, { timerKey: effect.timerKey });
    },
  },
  'subscription.open': {
    write: async ({ tx, instance, now, history, followUps }, effect) => {
      await lockCorrelation(tx, effect.messageName, effect.correlationKey);
      await tx('message_subscriptions').insert({
        id: randomUUID(),
        process_instance_id: instance.id,
        definition_id: instance.definitionId,
        element_instance_key: effect.elementInstanceKey,
        element_id: effect.elementId,
        message_name: effect.messageName,
        correlation_key: effect.correlationKey,
        state: 'open',
      });
      history('subscription.opened', effect.elementInstanceKey, effect.elementId, {
        messageName: effect.messageName,
        correlationKey: effect.correlationKey,
      });
      const buffered = await takeBufferedMessage(tx, instance.id, effect.messageName, effect.correlationKey, now);
      if (buffered)
        followUps.push({
          type: 'message.correlated',
          elementInstanceKey: effect.elementInstanceKey,
          messageName: effect.messageName,
          variables: buffered.variables,
        });
    },
  },
  'subscription.close': {
    write: async ({ tx, instance, now, history }, effect) => {
      await closeSubscriptions(tx, instance.id, effect.elementInstanceKey, now);
      history('subscription.closed', effect.elementInstanceKey, undefined);
    },
  },
  'decision.evaluated': {
    write: async ({ tx, instance, now, history }, effect) => {
      await tx('decision_evaluations').insert({
        process_instance_id: instance.id,
        element_instance_key: effect.elementInstanceKey,
        element_id: effect.elementId,
        decision_definition_id: effect.decisionDefinitionId,
        decision_id: effect.decisionId,
        version: effect.version,
        inputs: json(effect.inputs),
        matched_rule_ids: effect.matchedRuleIds,
        output: json(effect.output),
        evaluated: json(effect.evaluated),
        evaluated_at: now,
      });
      history('decision.evaluated', effect.elementInstanceKey, effect.elementId, {
        decisionId: effect.decisionId,
        version: effect.version,
        matchedRuleIds: effect.matchedRuleIds,
      });
    },
  },
  'incident.raise': {
    write: async ({ tx, instance, now, history }, effect) => {
      await tx('incidents').insert({
        id: randomUUID(),
        process_instance_id: instance.id,
        element_instance_key: effect.elementInstanceKey,
        element_id: effect.elementId,
        code: effect.code,
        message: effect.message,
        details: effect.details ? json(effect.details) : null,
        state: 'open',
        created_at: now,
      });
      history('incident.raised', effect.elementInstanceKey, effect.elementId, {
        code: effect.code,
        message: effect.message,
      });
    },
  },
  'incident.resolve': {
    write: async ({ tx, instance, now, history }, effect) => {
      await tx('incidents')
        .where({ process_instance_id: instance.id, element_instance_key: effect.elementInstanceKey, state: 'open' })
        .whereNull('job_id')
        .update({ state: 'resolved', resolved_at: now });
      history('incident.resolved', effect.elementInstanceKey, undefined);
    },
  },
  'childInstance.start': {
    write: async ({ tx, instance, history }, effect) => {
      await handOverChildStart(tx, instance.id, effect, instance.trace);
      history('childInstance.requested', effect.elementInstanceKey, effect.elementId, {
        bpmnProcessId: effect.bpmnProcessId,
      });
    },
  },
  'childInstance.cancel': {
    write: async ({ tx, instance, history }, effect) => {
      await handOverChildCancel(tx, instance.id, effect.elementInstanceKey);
      history('childInstance.cancelRequested', effect.elementInstanceKey, undefined);
    },
  },
  'signal.broadcast': {
    write: async ({ tx, history }, effect) => {
      const receivers = await broadcastSignal(tx, effect.signalName, effect.variables);
      history('signal.broadcast', effect.elementInstanceKey, effect.elementId, {
        signalName: effect.signalName,
        receivers,
      });
    },
  },
  // The ended instance's waits are closed in the statement that writes the step's rows
  // (write-step-rows.ts, `instanceEndParts`), and its waiters woken after it (`writePlainRows`).
  'instance.completed': {
    rows: ({ plain, instance, history }, effect) => {
      plain.rows.instancesEnded.push(instance.id);
      history(effect.type, undefined, undefined);
    },
  },
  'instance.terminated': {
    write: async ({ tx, instance, now, history }, effect) => {
      await closeInstanceWaits(tx, instance.id, now);
      history(effect.type, undefined, undefined);
    },
  },
};

function endElement(
  { plain, instance, now, history }: RowsContext,
  effect: EffectOf<'element.completed' | 'element.terminated'>,
  state: 'completed' | 'terminated',
): void {
  const key = endedKey(instance.id, effect.elementInstanceKey);
  const activation = plain.activations.get(key);
  if (activation) Object.assign(activation, { state, ended_at: now });
  else plain.rows.elementsEnded.set(key, { instanceId: instance.id, key: effect.elementInstanceKey, state });
  history(effect.type, effect.elementInstanceKey, effect.elementId);
}

function writerOf<E extends Effect>(effect: E): EffectWriter<E> {
  return EFFECT_WRITERS[effect.type] as unknown as EffectWriter<E>;
}

/**
 * Whether `effect` can join a batch's shared statement: `addPlainEffect` writes it completely (a
 * step's `instance.completed` joins as well: step-batch.ts).
 */
export function isPlainEffect(effect: Effect): boolean {
  const writer = writerOf(effect);
  return writer.rows !== undefined && (writer.plain ?? writer.write === undefined) && !needsTaskKey(effect);
}

/** An assigning listener's job of a task created with an assignee, and a canceling listener's job: their task id is looked up (`withTaskKey`). */
function needsTaskKey(effect: Effect): boolean {
  return (
    effect.type === 'job.create' &&
    (effect.listener === 'assigning' || effect.listener === 'canceling') &&
    effect.headers['io.camunda.zeebe:userTaskKey'] === undefined
  );
}

/** Adds the rows of an effect that has them (see `isPlainEffect`) to `plain`. */
export function addPlainEffect(plain: PlainRows, instance: InstanceRef, effect: Effect, now: Date): void {
  const writer = writerOf(effect);
  if (!writer.rows) throw new Error(`addPlainEffect: ${effect.type} is not a plain effect`);
  writer.rows({ plain, instance, now, history: historyWriter(plain.rows, instance) }, effect);
}

/**
 * Applies one step's effects and returns follow-up events for the same instance (a buffered message
 * that matches a subscription opened by this step), which the caller feeds into the next step of the
 * same transaction.
 */
export async function applyEffects(
  tx: Db,
  instance: InstanceRef,
  effects: Effect[],
  now: Date,
  history: HistoryEntry[] = [],
): Promise<RuntimeEvent[]> {
  // Element instance rows, jobs and history of the step go out in one statement (write-step-rows.ts),
  // written early only when a following effect reads or updates those tables.
  const plain = emptyPlainRows(history);
  const context: WriteContext = {
    tx,
    plain,
    instance,
    now,
    history: historyWriter(plain.rows, instance),
    followUps: [],
    createdTasks: new Map(),
  };
  for (const original of effects) {
    // The assigning listener jobs of a task created with an assignee name its task id, which only this driver knows.
    const effect = await withTaskKey(tx, instance.id, original, context.createdTasks);
    const writer = writerOf(effect);
    writer.rows?.(context, effect);
    if (!writer.write) continue;
    await writePlainRows(tx, plain, now);
    await writer.write(context, effect);
  }
  await writePlainRows(tx, plain, now);
  return context.followUps;
}

async function cancelJobs(tx: Db, instanceId: string, elementInstanceKey: string, now: Date): Promise<void> {
  const cancelled = await tx('jobs')
    .where({ process_instance_id: instanceId, element_instance_key: elementInstanceKey })
    .whereIn('state', ['ready', 'leased', 'failed'])
    .update({ state: 'cancelled', ended_at: now, updated_at: now })
    .returning(['id', 'state']);
  for (const job of cancelled as { id: string }[]) {
    await tx('incidents').where({ job_id: job.id, state: 'open' }).update({ state: 'resolved', resolved_at: now });
    await notify(tx, CHANNELS.jobCancelled, job.id);
  }
}

async function closeSubscriptions(tx: Db, instanceId: string, elementInstanceKey: string, now: Date): Promise<void> {
  await tx('message_subscriptions')
    .where({ process_instance_id: instanceId, element_instance_key: elementInstanceKey, state: 'open' })
    .update({ state: 'closed', closed_at: now });
}

/** A terminated task takes its job, user task and incidents with it. */
async function cancelElementWaits(tx: Db, instanceId: string, elementInstanceKey: string, now: Date): Promise<void> {
  await cancelJobs(tx, instanceId, elementInstanceKey, now);
  await tx('user_tasks')
    .where({ process_instance_id: instanceId, element_instance_key: elementInstanceKey })
    .whereIn('state', LIVE_TASK_STATES)
    .update({ state: 'cancelled', completed_at: now });
  await tx('incidents')
    .where({ process_instance_id: instanceId, element_instance_key: elementInstanceKey, state: 'open' })
    .update({ state: 'resolved', resolved_at: now });
}

/** An ended instance waits on nothing: close whatever the runtime did not cancel explicitly. */
export async function closeInstanceWaits(tx: Db, instanceId: string, now: Date): Promise<void> {
  // One round trip: every data-modifying CTE runs, whether or not the outer query reads it.
  const { parts, bindings } = instanceEndParts([instanceId], now);
  const { rows } = await tx.raw(`WITH ${parts.join(',\n')} SELECT id FROM ended_jobs`, bindings as never);
  await notifyInstancesEnded(
    tx,
    [instanceId],
    (rows as { id: string }[]).map((row) => row.id),
  );
}

/** Wake-ups for ended instances: their cancelled jobs' workers, and whoever waits on the instances. */
export async function notifyInstancesEnded(tx: Db, instanceIds: string[], cancelledJobIds: string[]): Promise<void> {
  for (const id of cancelledJobIds) await notify(tx, CHANNELS.jobCancelled, id);
  for (const id of instanceIds) await notify(tx, CHANNELS.instances, id);
}

/** Takes the oldest unexpired buffered message for a subscription (SKIP LOCKED: one taker). */
async function takeBufferedMessage(
  tx: Db,
  instanceId: string,
  name: string,
  correlationKey: string,
  now: Date,
): Promise<MessageRow | undefined> {
  const message = await tx<MessageRow>('messages')
    .where({ name, correlation_key: correlationKey, state: 'buffered' })
    .andWhere('expires_at', '>', now)
    .orderBy('created_at')
    .forUpdate()
    .skipLocked()
    .first();
  if (!message) return undefined;
  await tx('messages')
    .where({ id: message.id })
    .update({ state: 'correlated', process_instance_id: instanceId, correlated_at: now });
  return message;
}

/** User task states in which its element still waits on it: cancelled when the element ends otherwise. */
const LIVE_TASK_STATES = ['open', 'assigning', 'updating', 'completing', 'canceling'];

/** The `user_tasks` columns a user task change sets (`null` clears one). */
export function userTaskColumns(change: UserTaskChange): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  if (change.assignee !== undefined) columns.assignee = change.assignee;
  if (change.candidateUsers !== undefined) columns.candidate_users = change.candidateUsers;
  if (change.candidateGroups !== undefined) columns.candidate_groups = change.candidateGroups;
  if (change.dueDate !== undefined) columns.due_date = change.dueDate;
  if (change.followUpDate !== undefined) columns.follow_up_date = change.followUpDate;
  if (change.priority !== undefined) columns.priority = change.priority;
  return columns;
}

/**
 * An assigning listener's job of a task created with an assignee gets the task's id as
 * `io.camunda.zeebe:userTaskKey` (the runtime does not know it): from this step's creation, or
 * from the row a step before created.
 */
async function withTaskKey(
  tx: Db,
  instanceId: string,
  effect: Effect,
  createdTasks: Map<string, string>,
): Promise<Effect> {
  if (effect.type !== 'job.create' || !needsTaskKey(effect)) return effect;
  const taskId =
    createdTasks.get(effect.elementInstanceKey) ??
    (
      (await tx('user_tasks')
        .where({
          process_instance_id: instanceId,
          element_instance_key: effect.elementInstanceKey,
          state: effect.listener as string,
        })
        .first('id')) as { id: string } | undefined
    )?.id;
  if (!taskId) return effect;
  return { ...effect, headers: { ...effect.headers, 'io.camunda.zeebe:userTaskKey': taskId } };
}

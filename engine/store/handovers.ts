/**
 * Call activities across instances. A step never writes into another instance: it leaves an
 * `instance_handovers` row (start this child, cancel that child, tell the parent its child ended),
 * and `deliverHandovers` carries each row out later in a transaction of the receiving instance.
 * This keeps every transaction inside one instance (see DESIGN "Growing past one machine").
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Effect, RuntimeEvent, StepResult } from '../runtime/contract.ts';
import type { Logger, Variables } from '../nodes/types.ts';
import { OperonError } from '../errors.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, DefinitionRow, InstanceRow } from './rows.ts';
import { json } from './rows.ts';
import { CHANNELS, inTransaction, notify } from './notify.ts';
import { createInstance } from './create-instance.ts';
import { stepInstance } from './step-instance.ts';
import { raiseEngineIncident } from './raise-engine-incident.ts';
import { isTransientDatabaseError } from './transient-error.ts';
import { systemClock, type Clock } from '../clock.ts';
import { ATTR, endSpan, startSpan, type TraceContext, traceContextOf } from '../telemetry/trace.ts';

export interface HandoverRow {
  id: string;
  process_instance_id: string;
  kind: 'child.start' | 'child.cancel' | 'event';
  parent_instance_id: string | null;
  parent_element_instance_key: string | null;
  payload: Record<string, unknown>;
  state: 'pending' | 'delivered' | 'cancelled';
}

async function insertHandover(tx: Db, row: Omit<HandoverRow, 'id' | 'state'>): Promise<void> {
  await tx('instance_handovers').insert({ id: randomUUID(), ...row, payload: json(row.payload), state: 'pending' });
  // The timer loop delivers handovers; a due time of now wakes it.
  await notify(tx, CHANNELS.timers, new Date(0).toISOString());
}

/** `childInstance.start`: the child's id is chosen now, so a later cancel can name it. */
export async function handOverChildStart(
  tx: Db,
  parentInstanceId: string,
  effect: Extract<Effect, { type: 'childInstance.start' }>,
  trace?: TraceContext,
): Promise<void> {
  await insertHandover(tx, {
    process_instance_id: randomUUID(),
    kind: 'child.start',
    parent_instance_id: parentInstanceId,
    parent_element_instance_key: effect.elementInstanceKey,
    payload: {
      bpmnProcessId: effect.bpmnProcessId,
      elementId: effect.elementId,
      ...(effect.versionTag ? { versionTag: effect.versionTag } : {}),
      variables: effect.variables,
      // The child's start continues the trace of the step that called it (docs/observability.md).
      ...(trace ? { trace } : {}),
    },
  });
}

/** `childInstance.cancel`: withdraw a start not carried out yet, otherwise hand the child a cancel. */
export async function handOverChildCancel(tx: Db, parentInstanceId: string, elementInstanceKey: string): Promise<void> {
  const start = await tx<HandoverRow>('instance_handovers')
    .where({
      kind: 'child.start',
      parent_instance_id: parentInstanceId,
      parent_element_instance_key: elementInstanceKey,
    })
    .orderBy('created_at', 'desc')
    .first();
  if (!start) return;
  const withdrawn = await tx('instance_handovers')
    .where({ id: start.id, state: 'pending' })
    .update({ state: 'cancelled', delivered_at: new Date() });
  if (withdrawn === 1) return;
  await insertHandover(tx, {
    process_instance_id: start.process_instance_id,
    kind: 'child.cancel',
    parent_instance_id: parentInstanceId,
    parent_element_instance_key: elementInstanceKey,
    payload: {},
  });
}

type ChildRef = { id: string; parent_instance_id?: string | null; parent_element_instance_key?: string | null };

/** A BPMN error went uncaught in a child instance: its parent rethrows it at the call activity, in a step of its own. */
export async function reportUncaughtErrors(tx: Db, child: ChildRef, effects: Effect[]): Promise<void> {
  if (!child.parent_instance_id || !child.parent_element_instance_key) return;
  for (const effect of effects) {
    if (effect.type !== 'incident.raise' || effect.code !== 'OPERON_ERR_UNCAUGHT_BPMN_ERROR') continue;
    const { errorCode, errorMessage } = (effect.details ?? {}) as { errorCode?: string; errorMessage?: string };
    if (errorCode === undefined) continue;
    const event = {
      type: 'childInstance.bpmnError',
      elementInstanceKey: child.parent_element_instance_key,
      errorCode,
      ...(errorMessage !== undefined ? { errorMessage } : {}),
    };
    await insertHandover(tx, {
      process_instance_id: child.parent_instance_id,
      kind: 'event',
      parent_instance_id: null,
      parent_element_instance_key: null,
      payload: event,
    });
  }
}

/** A child instance ended: its parent learns it in a step of its own. */
export async function reportToParent(tx: Db, child: ChildRef, result: StepResult): Promise<void> {
  if (!child.parent_instance_id || !child.parent_element_instance_key || result.state === 'active') return;
  // A terminated child was cancelled by its parent (the call activity already ended) or by an
  // operator; in the second case the parent keeps waiting with an incident on the call activity.
  const event =
    result.state === 'completed'
      ? {
          type: 'childInstance.completed',
          elementInstanceKey: child.parent_element_instance_key,
          variables: result.variables,
        }
      : {
          type: 'childInstance.terminated',
          elementInstanceKey: child.parent_element_instance_key,
          childInstanceId: child.id,
        };
  await insertHandover(tx, {
    process_instance_id: child.parent_instance_id,
    kind: 'event',
    parent_instance_id: null,
    parent_element_instance_key: null,
    payload: event,
  });
}

/**
 * Broadcasts a signal: every open subscription named `signal:<name>` gets a `message.correlated`
 * handover (its instance steps later, in its own transaction), and every deployed signal start event
 * of that name a start handover. Reads other instances' subscriptions, writes only handover rows.
 */
export async function broadcastSignal(tx: Db, signalName: string, variables: Variables): Promise<number> {
  const messageName = `signal:${signalName}`;
  const subscriptions = await tx('message_subscriptions')
    .where({ state: 'open', message_name: messageName })
    .orderBy('created_at')
    .select('process_instance_id', 'definition_id', 'element_instance_key', 'element_id');
  for (const s of subscriptions as Array<{
    process_instance_id: string | null;
    definition_id: string;
    element_instance_key: string | null;
    element_id: string;
  }>) {
    if (s.process_instance_id) {
      const event = { type: 'message.correlated', elementInstanceKey: s.element_instance_key, messageName, variables };
      await insertHandover(tx, {
        process_instance_id: s.process_instance_id,
        kind: 'event',
        parent_instance_id: null,
        parent_element_instance_key: null,
        payload: event,
      });
    } else {
      await insertHandover(tx, {
        process_instance_id: randomUUID(),
        kind: 'child.start',
        parent_instance_id: null,
        parent_element_instance_key: null,
        payload: { definitionId: s.definition_id, startEventId: s.element_id, variables },
      });
    }
  }
  return subscriptions.length;
}

/**
 * Carries out up to `limit` pending handovers, each in a transaction of its receiving instance, at
 * the time of the engine's `clock`; returns how many.
 */
export async function deliverHandovers(
  db: Knex,
  graphs: GraphCache,
  logger: Logger,
  limit = 50,
  clock: Clock = systemClock,
): Promise<number> {
  const pending = await db<HandoverRow>('instance_handovers')
    .where({ state: 'pending' })
    .orderBy('created_at')
    .limit(limit);
  let delivered = 0;
  for (const handover of pending) {
    try {
      if (await deliver(db, graphs, handover, clock)) delivered++;
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      logger.error(
        { err: error, handoverId: handover.id, instanceId: handover.process_instance_id },
        'handover failed; raising an incident',
      );
      await failHandover(db, handover, error);
    }
  }
  return delivered;
}

async function deliver(db: Knex, graphs: GraphCache, handover: HandoverRow, clock: Clock): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const now = clock.now();
    // The receiving instance is locked first, as in every step; SKIP LOCKED leaves a busy one for the next round.
    const instance =
      handover.kind === 'child.start'
        ? undefined
        : await tx<InstanceRow>('process_instances')
            .where({ id: handover.process_instance_id })
            .forUpdate()
            .skipLocked()
            .first();
    if (handover.kind !== 'child.start' && !instance) {
      const exists = await tx('process_instances').where({ id: handover.process_instance_id }).first('id');
      if (exists) return false;
      // A child whose start is still being carried out: cancel it once it exists.
      const start = await tx<HandoverRow>('instance_handovers')
        .where({ kind: 'child.start', process_instance_id: handover.process_instance_id, state: 'pending' })
        .first('id');
      if (start) return false;
    }
    const claimed = await tx('instance_handovers')
      .where({ id: handover.id, state: 'pending' })
      .update({ state: 'delivered', delivered_at: now });
    if (claimed !== 1) return false;
    if (handover.kind === 'child.start') {
      const payload = handover.payload as {
        bpmnProcessId?: string;
        versionTag?: string;
        definitionId?: string;
        startEventId?: string;
        variables: Variables;
        trace?: TraceContext;
      };
      // A signal start names its definition; a call activity the latest version of a process id,
      // or the latest one with its pinned version tag.
      // Only what createInstance needs (the graph comes from the cache by id), not the XML.
      const definition = payload.definitionId
        ? await tx<DefinitionRow>('process_definitions')
            .select('id', 'bpmn_process_id', 'version')
            .where({ id: payload.definitionId })
            .first()
        : await tx<DefinitionRow>('process_definitions')
            .select('id', 'bpmn_process_id', 'version')
            .where({
              bpmn_process_id: payload.bpmnProcessId!,
              ...(payload.versionTag ? { version_tag: payload.versionTag } : {}),
            })
            .orderBy('version', 'desc')
            .first();
      if (!definition) {
        const what = payload.versionTag
          ? `"${payload.bpmnProcessId}" with version tag "${payload.versionTag}"`
          : `"${payload.bpmnProcessId}"`;
        throw new OperonError('OPERON_ERR_NOT_FOUND', `Call activity: no process ${what} is deployed`, {
          details: { bpmnProcessId: payload.bpmnProcessId, versionTag: payload.versionTag },
        });
      }
      const span = startSpan(`start ${definition.bpmn_process_id}`, {
        parent: payload.trace,
        attributes: {
          [ATTR.processId]: definition.bpmn_process_id,
          [ATTR.processVersion]: definition.version,
          [ATTR.definitionId]: definition.id,
          [ATTR.instanceId]: handover.process_instance_id,
          [ATTR.event]: 'start',
          ...(handover.parent_instance_id ? { 'operon.parent_instance_id': handover.parent_instance_id } : {}),
        },
      });
      await createInstance(tx, graphs, definition, {
        instanceId: handover.process_instance_id,
        trace: traceContextOf(span),
        variables: payload.variables,
        ...(payload.startEventId ? { startEventId: payload.startEventId } : {}),
        ...(handover.parent_instance_id
          ? {
              parentInstanceId: handover.parent_instance_id,
              parentElementInstanceKey: handover.parent_element_instance_key!,
            }
          : {}),
        now,
      }).then(
        () => endSpan(span),
        (error: unknown) => {
          endSpan(span, error);
          throw error;
        },
      );
      return true;
    }
    if (instance?.state !== 'active') return true;
    if (handover.kind === 'child.cancel') {
      await stepInstance(tx, graphs, instance.id, { type: 'instance.cancel' }, now, instance);
      return true;
    }
    const event = handover.payload as { type: string; elementInstanceKey: string; childInstanceId?: string };
    if (event.type === 'childInstance.terminated') {
      const element = await tx('element_instances')
        .where({ process_instance_id: instance.id, element_instance_key: event.elementInstanceKey, state: 'active' })
        .first('element_id');
      // The parent cancelled this child itself (e.g. after an uncaught error): nothing to report.
      const askedFor = await tx('instance_handovers')
        .where({ kind: 'child.cancel', process_instance_id: event.childInstanceId })
        .first('id');
      if (element && !askedFor) {
        const error = new OperonError(
          'OPERON_ERR_CHILD_TERMINATED',
          `The child instance ${event.childInstanceId} of this call activity was terminated`,
          { details: { childInstanceId: event.childInstanceId } },
        );
        await raiseEngineIncident(
          tx,
          instance.id,
          { elementInstanceKey: event.elementInstanceKey, elementId: element.element_id as string },
          error,
          undefined,
        );
      }
      return true;
    }
    await stepInstance(tx, graphs, instance.id, handover.payload as unknown as RuntimeEvent, now, instance);
    return true;
  });
}

/** A handover that cannot be carried out becomes an incident on the call activity that sent it (or received it). */
async function failHandover(db: Knex, handover: HandoverRow, error: unknown): Promise<void> {
  await inTransaction(db, async (tx) => {
    const target =
      handover.kind === 'event'
        ? {
            instanceId: handover.process_instance_id,
            key: (handover.payload as { elementInstanceKey?: string }).elementInstanceKey,
          }
        : { instanceId: handover.parent_instance_id, key: handover.parent_element_instance_key };
    const instance = target.instanceId
      ? await tx<InstanceRow>('process_instances').where({ id: target.instanceId }).forUpdate().first()
      : undefined;
    const claimed = await tx('instance_handovers')
      .where({ id: handover.id, state: 'pending' })
      .update({ state: 'delivered', delivered_at: new Date() });
    if (claimed !== 1 || !instance || !target.key) return;
    const element = await tx('element_instances')
      .where({ process_instance_id: instance.id, element_instance_key: target.key })
      .first('element_id');
    const retry = handover.kind === 'event' ? (handover.payload as unknown as RuntimeEvent) : undefined;
    await raiseEngineIncident(
      tx,
      instance.id,
      { elementInstanceKey: target.key, elementId: (element?.element_id as string | undefined) ?? '' },
      error,
      retry,
    );
  });
}

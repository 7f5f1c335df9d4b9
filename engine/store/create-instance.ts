import { randomUUID } from 'node:crypto';
import { startInstanceSettled, type StepResult } from '../runtime/index.ts';
import type { Variables } from '../nodes/types.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, DefinitionRef } from './rows.ts';
import { insertInstance } from './insert-instance.ts';
import type { TraceContext } from '../telemetry/trace.ts';
import { applyEffects } from './apply-effects.ts';
import { stepInstance } from './step-instance.ts';
import { reportToParent, reportUncaughtErrors } from './handovers.ts';

export interface CreateInstanceOptions {
  variables?: Variables;
  businessKey?: string;
  /** Who started it (process_instances.started_by). */
  startedBy?: string;
  startEventId?: string;
  now: Date;
  /** The id to use (a call activity chooses its child's id up front); a new UUID otherwise. */
  instanceId?: string;
  /** For a child of a call activity: the calling instance and the call activity's element instance. */
  parentInstanceId?: string;
  parentElementInstanceKey?: string;
  /** The first step, when the caller already computed it (same id, variables and clock). */
  firstStep?: StepResult;
  /** The start's span (docs/observability.md): kept by the instance and its first jobs. */
  trace?: TraceContext;
}

/** Starts an instance of a definition inside the caller's transaction: first step, rows, effects. */
export async function createInstance(
  tx: Db,
  graphs: GraphCache,
  definition: DefinitionRef,
  options: CreateInstanceOptions,
): Promise<string> {
  const graph = await graphs.get(tx, definition.id);
  const instanceId = options.instanceId ?? randomUUID();
  const result =
    options.firstStep ??
    (await startInstanceSettled(graph, {
      instanceId,
      variables: options.variables ?? {},
      startEventId: options.startEventId,
      ...graphs.stepContext(options.now, tx),
    }));
  await insertInstance(
    tx,
    {
      id: instanceId,
      definitionId: definition.id,
      bpmnProcessId: definition.bpmn_process_id,
      version: definition.version,
      businessKey: options.businessKey,
      startedBy: options.startedBy,
      parentInstanceId: options.parentInstanceId,
      parentElementInstanceKey: options.parentElementInstanceKey,
      trace: options.trace,
    },
    result,
    options.now,
  );
  const ref = {
    id: instanceId,
    definitionId: definition.id,
    bpmnProcessId: definition.bpmn_process_id,
    trace: options.trace,
  };
  const started = {
    process_instance_id: instanceId,
    event_type: 'instance.started',
    payload: {
      bpmnProcessId: definition.bpmn_process_id,
      version: definition.version,
      startEventId: options.startEventId ?? null,
    },
  };
  const followUps = await applyEffects(tx, ref, result.effects, options.now, [started]);
  await reportUncaughtErrors(
    tx,
    {
      id: instanceId,
      parent_instance_id: options.parentInstanceId,
      parent_element_instance_key: options.parentElementInstanceKey,
    },
    result.effects,
  );
  await reportToParent(
    tx,
    {
      id: instanceId,
      parent_instance_id: options.parentInstanceId,
      parent_element_instance_key: options.parentElementInstanceKey,
    },
    result,
  );
  for (const event of followUps) {
    const { result: next } = await stepInstance(tx, graphs, instanceId, event, options.now);
    if (next.state !== 'active') break;
  }
  return instanceId;
}

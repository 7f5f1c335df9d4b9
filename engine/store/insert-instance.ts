import type { Db } from './rows.ts';
import type { TraceContext } from '../telemetry/trace.ts';
import type { StepResult } from '../runtime/contract.ts';
import { emptyStepRows, writeStepRows } from './write-step-rows.ts';

export interface NewInstance {
  id: string;
  definitionId: string;
  bpmnProcessId: string;
  version: number;
  businessKey?: string;
  startedBy?: string;
  /** For a child of a call activity: the calling instance and the call activity's element instance. */
  parentInstanceId?: string;
  parentElementInstanceKey?: string;
  /** The start's span (docs/observability.md). */
  trace?: TraceContext;
}

/** Inserts a started instance with the runtime's first snapshot (the same write a batch of starts makes). */
export async function insertInstance(tx: Db, instance: NewInstance, result: StepResult, now: Date): Promise<void> {
  const rows = emptyStepRows();
  rows.instancesInserted.push({
    id: instance.id,
    definition_id: instance.definitionId,
    bpmn_process_id: instance.bpmnProcessId,
    version: instance.version,
    business_key: instance.businessKey ?? null,
    started_by: instance.startedBy ?? null,
    parent_instance_id: instance.parentInstanceId ?? null,
    parent_element_instance_key: instance.parentElementInstanceKey ?? null,
    state: result.state,
    variables: result.variables ?? null,
    snapshot: result.snapshot,
    trace_parent: instance.trace?.traceparent ?? null,
    trace_state: instance.trace?.tracestate ?? null,
  });
  await writeStepRows(tx, now, rows);
}

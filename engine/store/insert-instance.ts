import type { Db } from './rows.ts';
import { json } from './rows.ts';
import type { StepResult } from '../runtime/contract.ts';

export interface NewInstance {
  id: string;
  definitionId: string;
  bpmnProcessId: string;
  version: number;
  businessKey?: string;
  /** For a child of a call activity: the calling instance and the call activity's element instance. */
  parentInstanceId?: string;
  parentElementInstanceKey?: string;
}

/** Inserts a started instance with the runtime's first snapshot. */
export async function insertInstance(tx: Db, instance: NewInstance, result: StepResult, now: Date): Promise<void> {
  await tx('process_instances').insert({
    id: instance.id,
    definition_id: instance.definitionId,
    bpmn_process_id: instance.bpmnProcessId,
    version: instance.version,
    business_key: instance.businessKey ?? null,
    ...(instance.parentInstanceId ? { parent_instance_id: instance.parentInstanceId, parent_element_instance_key: instance.parentElementInstanceKey } : {}),
    state: result.state,
    variables: json(result.variables),
    snapshot: json(result.snapshot),
    started_at: now,
    updated_at: now,
    ended_at: result.state === 'active' ? null : now,
  });
}

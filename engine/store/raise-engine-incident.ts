import { randomUUID } from 'node:crypto';
import { isOperonError } from '../errors.ts';
import type { RuntimeEvent } from '../runtime/contract.ts';
import type { Db } from './rows.ts';
import { json } from './rows.ts';
import { appendHistory } from './append-history.ts';
import { CHANNELS, notify } from './notify.ts';

/**
 * Records a failure of the engine itself while applying `retryEvent` to an instance (the runtime
 * threw, a row was missing ...). The instance stays as it was before the event; resolving the
 * incident applies the event again. Call with the instance row locked.
 */
export async function raiseEngineIncident(
  tx: Db,
  instanceId: string,
  element: { elementInstanceKey: string; elementId: string },
  error: unknown,
  retryEvent: RuntimeEvent | undefined,
  jobId?: string,
): Promise<string> {
  const id = randomUUID();
  const code = isOperonError(error) ? error.code : 'OPERON_ERR_INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  await tx('incidents').insert({
    id,
    process_instance_id: instanceId,
    element_instance_key: element.elementInstanceKey,
    element_id: element.elementId,
    job_id: jobId ?? null,
    code,
    message,
    details: json(isOperonError(error) ? error.details : {}),
    retry_event: retryEvent ? json(retryEvent) : null,
    state: 'open',
  });
  await appendHistory(tx, [
    {
      process_instance_id: instanceId,
      element_instance_key: element.elementInstanceKey,
      element_id: element.elementId,
      event_type: 'incident.raised',
      payload: { code, message, incidentId: id },
    },
  ]);
  await notify(tx, CHANNELS.instances, instanceId);
  return id;
}

import { randomUUID } from 'node:crypto';
import type { ProcessGraph } from '../model/index.ts';
import { firstStartTimer } from '../timers/start-timer.ts';
import type { Db, DefinitionRow } from './rows.ts';
import { CHANNELS, notify } from './notify.ts';

/**
 * A new version takes over the message and timer start events of its process (as in Camunda 8):
 * earlier versions' start timers are cancelled and their start subscriptions closed, then this
 * version's are opened. Runs in the deployment transaction, after insertDefinition took the deployment
 * lock: a start timer firing at the same time has either committed its next cycle's row (cancelled
 * here) or waits and then finds this newer version (fire-due-timers.ts).
 */
export async function scheduleStartEvents(
  tx: Db,
  definition: DefinitionRow,
  graph: ProcessGraph,
  now: Date,
  minCycleIntervalMs?: number,
): Promise<void> {
  const earlier = tx('process_definitions')
    .select('id')
    .where({ bpmn_process_id: definition.bpmn_process_id })
    .andWhereNot({ id: definition.id });
  await tx('timers')
    .whereNull('process_instance_id')
    .whereIn('definition_id', earlier.clone())
    .where({ state: 'scheduled' })
    .update({ state: 'cancelled' });
  await tx('message_subscriptions')
    .whereNull('process_instance_id')
    .whereIn('definition_id', earlier.clone())
    .where({ state: 'open' })
    .update({ state: 'closed', closed_at: now });
  for (const start of graph.startEvents) {
    if (start.kind === 'timer' && start.timer) {
      const schedule = firstStartTimer(start.timer, now, start.elementId, minCycleIntervalMs);
      await tx('timers').insert({
        id: randomUUID(),
        process_instance_id: null,
        definition_id: definition.id,
        timer_key: `start:${start.elementId}`,
        element_id: start.elementId,
        due_at: schedule.dueAt,
        cycle: schedule.cycle ?? null,
        state: 'scheduled',
      });
      await notify(tx, CHANNELS.timers, schedule.dueAt.toISOString());
    }
    if (start.kind === 'message' && start.messageName) {
      await tx('message_subscriptions').insert({
        id: randomUUID(),
        process_instance_id: null,
        definition_id: definition.id,
        element_instance_key: null,
        element_id: start.elementId,
        message_name: start.messageName,
        correlation_key: null,
        state: 'open',
      });
    }
  }
}

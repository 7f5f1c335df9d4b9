/**
 * Lets the workers drive one instance until it ends, or until it only waits on things nobody in
 * this process will do before the deadline: people (user tasks), messages, external job workers,
 * incidents, timers due after the deadline.
 */
import type { Knex } from 'knex';
import type { InstanceView } from '../api.ts';
import type { PostgresEngine } from '../engine.ts';
import { CHANNELS } from '../store/notify.ts';

export async function runUntilRest(
  engine: PostgresEngine,
  instanceId: string,
  timeoutMs: number,
): Promise<InstanceView> {
  // The wait is wall-clock time; which timers and retries fall inside it is asked in engine time.
  const deadline = new Date(Date.now() + timeoutMs);
  const engineDeadline = new Date(engine.clock.now().getTime() + timeoutMs);
  const nodeNames = engine.nodes.names();
  for (;;) {
    const instance = await engine.getInstance(instanceId);
    if (!instance) throw new Error(`instance ${instanceId} disappeared`);
    if (instance.state !== 'active' || Date.now() >= deadline.getTime()) return instance;
    // Read again after finding no work: the instance may have moved on (or ended) between the two reads.
    if (!(await hasWorkBefore(engine, instanceId, nodeNames, engineDeadline)))
      return (await engine.getInstance(instanceId)) ?? instance;
    await engine.notifications.wait(
      Math.min(250, deadline.getTime() - Date.now()),
      (channel, payload) => channel === CHANNELS.instances && payload === instanceId,
      undefined,
      [CHANNELS.instances],
    );
  }
}

/**
 * Whether the instance, or an active child of it, has work this process will do before the deadline.
 * All the reads share one snapshot: a timer firing commits "timer fired, next job ready" in one
 * transaction, and two separate reads could see the job table before it and the timer table after
 * it, find neither, and call a running instance at rest.
 */
export async function hasWorkBefore(
  engine: Pick<PostgresEngine, 'db'>,
  instanceId: string,
  nodeNames: string[],
  deadline: Date,
  /** For tests: runs, outside the snapshot, after the first read. */
  afterFirstRead?: () => Promise<void>,
): Promise<boolean> {
  return engine.db.transaction((trx) => workBefore(trx, instanceId, nodeNames, deadline, afterFirstRead), {
    isolationLevel: 'repeatable read',
    readOnly: true,
  });
}

async function workBefore(
  trx: Knex.Transaction,
  instanceId: string,
  nodeNames: string[],
  deadline: Date,
  afterFirstRead?: () => Promise<void>,
): Promise<boolean> {
  const job = await trx('jobs')
    .where({ process_instance_id: instanceId })
    .where((q) =>
      q.where('state', 'leased').orWhere((r) => r.where('state', 'ready').andWhere('run_at', '<=', deadline)),
    )
    .where((q) => q.whereIn('type', nodeNames).orWhereRaw(`split_part(type, ':', 1) = ANY(?::text[])`, [nodeNames]))
    .first('id');
  if (job) return true;
  await afterFirstRead?.();
  const timer = await trx('timers')
    .where({ process_instance_id: instanceId, state: 'scheduled' })
    .andWhere('due_at', '<=', deadline)
    .first('id');
  if (timer) return true;
  // Call activities: a handover on its way to or from this instance, or an active child with work of its own.
  const handover = await trx('instance_handovers')
    .where({ state: 'pending' })
    .where((q) => q.where('process_instance_id', instanceId).orWhere('parent_instance_id', instanceId))
    .first('id');
  if (handover) return true;
  const children: string[] = await trx('process_instances')
    .where({ parent_instance_id: instanceId, state: 'active' })
    .pluck('id');
  for (const child of children) if (await workBefore(trx, child, nodeNames, deadline)) return true;
  return false;
}

/**
 * Publishing a message, and correlating messages to the instances that wait for them, one or a
 * batch, through the same body: `publishMessage` finds the open subscription and hands the
 * correlation to the engine's group commit, which gathers concurrent correlations into one call of
 * `correlateMessages`; a message no instance waits for starts an instance at a message start event,
 * is buffered for its time to live, or is dropped.
 *
 * One `correlateMessages` call is one transaction: one statement locks the instances (in id order,
 * so two batches never deadlock on each other), then each correlation is checked under its
 * instance's lock (the instance is active, the subscription still open, a buffered message still
 * buffered, the message id not remembered) and only then written: the subscription closed (unless it
 * stays subscribed: a non-interrupting boundary event or event subprocess start, as in Zeebe), the
 * buffered message taken, the message id remembered, and the instance stepped once with
 * `message.correlated`. A correlation that does not pass its checks changes nothing; its publish
 * looks for another subscription.
 *
 * When the transaction fails for a reason other than the database going away (a step that cannot be
 * written), the correlations are applied again one by one, each in its own transaction, by this same
 * function: the one that still fails gets its error (its publish fails, nothing of it is written);
 * the others correlate.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { PublishedMessage, PublishMessage } from '../api.ts';
import type { ProcessGraph } from '../model/index.ts';
import type { Variables } from '../nodes/types.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, DefinitionRow, InstanceRow, SubscriptionRow } from './rows.ts';
import { json } from './rows.ts';
import { emptyPlainRows, writePlainRows } from './apply-effects.ts';
import { createInstance } from './create-instance.ts';
import { findDefinition } from './find-definition.ts';
import { lockCorrelation } from './lock-correlation.ts';
import { inTransaction } from './notify.ts';
import {
  claimMessageId,
  findRememberedMessage,
  type MessageIdClaim,
  type MessageIdOutcome,
} from './remember-message-id.ts';
import { failedAlone, stepInBatch, type Settled } from './step-batch.ts';
import { isTransientDatabaseError } from './transient-error.ts';

/** One message to correlate to one open subscription of an instance. */
export interface MessageCorrelation {
  subscription: Pick<
    SubscriptionRow,
    'id' | 'process_instance_id' | 'definition_id' | 'element_id' | 'element_instance_key'
  >;
  messageName: string;
  variables: Variables;
  /** The buffered message this correlation takes (the late path of a buffered publish). */
  bufferedId?: string;
  /** The message's id, remembered in the correlation's transaction. */
  claim?: MessageIdClaim;
}

/** A correlation whose message id was remembered meanwhile: another publish of it came first. */
export class DuplicateMessage extends Error {}

/** What correlating messages needs from the engine. */
export interface CorrelateMessagesContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts), read once per transaction. */
  now: () => Date;
}

/**
 * Applies `items` (subscriptions of distinct instances) in one transaction of `db` and returns one
 * outcome per item, in order: the instance it correlated to, or undefined when the instance ended
 * or the subscription closed (or its buffered message was taken) meanwhile. Throws only when the
 * database went away: then nothing was written.
 */
export async function correlateMessages(
  db: Knex,
  context: CorrelateMessagesContext,
  items: MessageCorrelation[],
): Promise<Settled<string | undefined>[]> {
  if (items.length === 0) return [];
  try {
    return await inTransaction(db, (tx) => applyCorrelations(tx, context, items));
  } catch (error) {
    if (isTransientDatabaseError(error) || items.length === 1) throw error;
    // Which one failed the transaction is not known: each again on its own, so only that one fails.
    const settled: Settled<string | undefined>[] = [];
    for (const item of items) settled.push(...(await correlateMessages(db, context, [item]).catch(alone)));
    return settled;
  }
}

async function applyCorrelations(
  tx: Knex.Transaction,
  context: CorrelateMessagesContext,
  items: MessageCorrelation[],
): Promise<Settled<string | undefined>[]> {
  const now = context.now();
  const instances = await lockInstances(
    tx,
    items.map((item) => item.subscription.process_instance_id!),
  );
  const plain = emptyPlainRows();
  const settled: Settled<string | undefined>[] = [];
  for (const item of items) {
    const { subscription } = item;
    const instance = instances.get(subscription.process_instance_id!);
    // Checked before anything of this correlation is written: one that does not apply leaves no trace.
    if (instance?.state !== 'active' || !(await stillApplies(tx, item))) {
      settled.push({ ok: true, value: undefined });
      continue;
    }
    if (item.claim && !(await claimMessageId(tx, item.claim, { processInstanceId: instance.id }))) {
      settled.push(failedAlone(new DuplicateMessage(`message id ${item.claim.messageId} was published before`)));
      continue;
    }
    // A non-interrupting boundary event or event subprocess start stays subscribed while its scope
    // is active, as in Zeebe: every message correlates, not only the first. The step closes the
    // subscription when the host ends (closeWaits); the instance lock orders concurrent messages.
    const graph = await context.graphs.get(tx, subscription.definition_id);
    if (!staysSubscribed(graph, subscription.element_id))
      await tx('message_subscriptions')
        .where({ id: subscription.id })
        .update({ state: 'closed', closed_at: tx.fn.now() });
    if (item.bufferedId)
      await tx('messages')
        .where({ id: item.bufferedId })
        .update({ state: 'correlated', process_instance_id: instance.id, correlated_at: tx.fn.now() });
    await stepInBatch(
      tx,
      context.graphs,
      plain,
      instance,
      {
        type: 'message.correlated',
        elementInstanceKey: subscription.element_instance_key!,
        messageName: item.messageName,
        variables: item.variables,
      },
      now,
    );
    settled.push({ ok: true, value: instance.id });
  }
  await writePlainRows(tx, plain, now);
  return settled;
}

/** One statement: locks the instances, in id order. */
async function lockInstances(tx: Db, ids: string[]): Promise<Map<string, InstanceRow>> {
  const { rows } = await tx.raw('SELECT * FROM process_instances WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE', [
    [...new Set(ids)],
  ] as never);
  return new Map((rows as InstanceRow[]).map((row) => [row.id, row]));
}

/** Under the instance's lock: the subscription is still open, and its buffered message (if any) still buffered. */
async function stillApplies(tx: Db, item: MessageCorrelation): Promise<boolean> {
  const open = await tx('message_subscriptions').where({ id: item.subscription.id, state: 'open' }).first('id');
  if (!open) return false;
  if (!item.bufferedId) return true;
  return (await tx('messages').where({ id: item.bufferedId, state: 'buffered' }).forUpdate().first('id')) !== undefined;
}

/** Is `elementId` a non-interrupting message boundary event or event subprocess start (subscribed until its scope ends)? */
function staysSubscribed(graph: ProcessGraph, elementId: string): boolean {
  const element = graph.elements[elementId];
  if (element?.type === 'boundaryEvent') return element.eventKind === 'message' && !element.cancelActivity;
  if (element?.type !== 'startEvent' || element.eventKind !== 'message') return false;
  return element.parentId !== undefined && element.interrupting === false;
}

function alone(error: unknown): Settled<string | undefined>[] {
  if (isTransientDatabaseError(error)) throw error;
  return [failedAlone(error)];
}

/** What publishing needs from the engine. */
export interface PublishContext extends CorrelateMessagesContext {
  /** How long a published message id is remembered at least. */
  messageIdRetentionMs: number;
  /** Correlates one message (the engine's group commit over `correlateMessages`). */
  correlate: (correlation: MessageCorrelation) => Promise<string | undefined>;
}

/**
 * Publishes a message: to the oldest open subscription of its name and correlation key, else to a
 * message start event, else buffered for its time to live (or dropped without one). A publish
 * repeating a remembered `messageId` is answered with what the first one did (`duplicate`).
 */
export async function publishMessage(
  db: Knex,
  context: PublishContext,
  message: PublishMessage,
): Promise<PublishedMessage> {
  const variables = message.variables ?? {};
  const ttl = message.timeToLiveMs ?? 0;
  const claim = message.messageId
    ? {
        name: message.name,
        messageId: message.messageId,
        rememberMs: Math.max(ttl, context.messageIdRetentionMs),
        now: context.now(),
      }
    : undefined;
  // A sender's retry is answered from what the first publish did, before anything is looked up.
  if (claim) {
    const remembered = await findRememberedMessage(db, claim.name, claim.messageId, context.now());
    if (remembered) return { ...remembered, duplicate: true };
  }
  try {
    return await publish(db, context, message, variables, ttl, claim);
  } catch (error) {
    if (!(error instanceof DuplicateMessage) || !claim) throw error;
    // Another publish of the same id committed first: its work stands, ours was rolled back.
    return {
      ...((await findRememberedMessage(db, claim.name, claim.messageId, context.now())) ?? { correlated: false }),
      duplicate: true,
    };
  }
}

async function publish(
  db: Knex,
  context: PublishContext,
  message: PublishMessage,
  variables: Variables,
  ttl: number,
  claim: MessageIdClaim | undefined,
): Promise<PublishedMessage> {
  const correlate = (subscription: SubscriptionRow, bufferedId?: string) =>
    context.correlate({ subscription, messageName: message.name, variables, bufferedId, claim });
  for (let tries = 0; tries < 5; tries++) {
    const subscription = await openSubscription(db, message);
    if (!subscription) break;
    const instanceId = await correlate(subscription);
    if (instanceId) return { correlated: true, instanceId };
  }
  const startDefinition = await messageStartDefinition(db, message.name);
  if (startDefinition) {
    const { definition, elementId } = startDefinition;
    const instanceId = await inTransaction(db, async (tx) => {
      const id = await createInstance(tx, context.graphs, definition, {
        variables,
        startEventId: elementId,
        businessKey: message.correlationKey || undefined,
        now: context.now(),
      });
      await claimOrRollBack(tx, claim, { processInstanceId: id });
      return id;
    });
    return { correlated: true, instanceId };
  }
  if (ttl <= 0) {
    // Dropped: remembered all the same, so that a retry does not reach a subscription opened since.
    if (claim) await inTransaction(db, (tx) => claimOrRollBack(tx, claim, {}));
    return { correlated: false };
  }
  const id = randomUUID();
  const inserted = await inTransaction(db, async (tx) => {
    await lockCorrelation(tx, message.name, message.correlationKey);
    await claimOrRollBack(tx, claim, { bufferedMessage: id });
    return tx('messages')
      .insert({
        id,
        name: message.name,
        correlation_key: message.correlationKey,
        message_id: message.messageId ?? null,
        variables: json(variables),
        state: 'buffered',
        expires_at: new Date(context.now().getTime() + ttl),
      })
      .onConflict(db.raw(`(name, message_id) WHERE state = 'buffered' AND message_id IS NOT NULL`))
      .ignore()
      .returning('id');
  });
  if (inserted.length === 0) return { correlated: false };
  // A subscription may have opened while we buffered (its step looked before our insert committed).
  const late = await openSubscription(db, message);
  if (late) {
    const instanceId = await context.correlate({
      subscription: late,
      messageName: message.name,
      variables,
      bufferedId: id,
    });
    if (instanceId) return { correlated: true, instanceId };
  }
  return { correlated: false };
}

/** The oldest open subscription of an instance to the message's name and correlation key. */
function openSubscription(db: Knex, message: PublishMessage): Promise<SubscriptionRow | undefined> {
  return db<SubscriptionRow>('message_subscriptions')
    .where({ state: 'open', message_name: message.name, correlation_key: message.correlationKey })
    .whereNotNull('process_instance_id')
    .orderBy('created_at')
    .first();
}

/** The message start event of the latest definition subscribed to `name`, if any. */
async function messageStartDefinition(
  db: Knex,
  name: string,
): Promise<{ definition: DefinitionRow; elementId: string } | undefined> {
  const subscription = await db<SubscriptionRow>('message_subscriptions')
    .where({ state: 'open', message_name: name })
    .whereNull('process_instance_id')
    .orderBy('created_at', 'desc')
    .first();
  if (!subscription) return undefined;
  const definition = await findDefinition(db, subscription.definition_id);
  return definition ? { definition, elementId: subscription.element_id } : undefined;
}

/** Remembers the message id in `tx`; one remembered meanwhile rolls the transaction back. */
async function claimOrRollBack(
  tx: Knex.Transaction,
  claim: MessageIdClaim | undefined,
  outcome: MessageIdOutcome,
): Promise<void> {
  if (claim && !(await claimMessageId(tx, claim, outcome)))
    throw new DuplicateMessage(`message id ${claim.messageId} was published before`);
}

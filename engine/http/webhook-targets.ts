/**
 * What `POST /webhooks/{bpmnProcessId}` reads before it starts an instance (the latest deployed
 * version and the webhook configuration, `loadWebhookTarget`), cached per process id: at 500
 * requests/s that read was a round trip per request, a fifth of a webhook's time.
 *
 * The database says when an entry is stale: triggers on `process_definitions` and `webhook_configs`
 * (migrations/000008) NOTIFY `operon_webhook_targets` with the process id when a change commits,
 * whoever made it, and every engine process LISTENs. An entry is kept only while that LISTEN is in
 * place, on the connection it was read under: while the connection is down every request reads the
 * database, and a new connection starts with an empty cache. A read that overlapped a notification
 * is used but not kept. So a rotated or revoked secret stops working in every process once the
 * notification arrives, milliseconds after the change committed: the same window a request had that
 * read the configuration just before the change. In the process that made the change (PUT .../webhook,
 * POST /api/deployments) the entry is dropped before the response. `MAX_AGE_MS` bounds an entry's
 * life whatever happens.
 */
import type { Knex } from 'knex';
import type { Notifications } from '../jobs/notifications.ts';
import { CHANNELS } from '../store/notify.ts';
import { loadWebhookTarget, type WebhookTarget } from './webhook-config.ts';

/** An entry is read again after this long, notification or not. */
const MAX_AGE_MS = 30_000;
/** Entries only exist for deployed processes; past this many the cache starts over. */
const MAX_ENTRIES = 10_000;

interface Entry {
  target: WebhookTarget;
  epoch: number;
  readAt: number;
}

export class WebhookTargets {
  readonly #db: Knex;
  readonly #notifications: Notifications;
  readonly #entries = new Map<string, Entry>();
  /** Bumped by every invalidation: a read that started before one must not be kept. */
  #generation = 0;
  readonly #off: () => void;

  constructor(db: Knex, notifications: Notifications) {
    this.#db = db;
    this.#notifications = notifications;
    this.#off = notifications.on((_channel, payload) => this.forget(payload || undefined), [CHANNELS.webhookTargets]);
  }

  async get(bpmnProcessId: string): Promise<WebhookTarget> {
    const epoch = this.#notifications.listening(CHANNELS.webhookTargets);
    const entry = this.#entries.get(bpmnProcessId);
    if (entry && epoch !== undefined && entry.epoch === epoch && performance.now() - entry.readAt < MAX_AGE_MS)
      return entry.target;
    const generation = this.#generation;
    const readAt = performance.now();
    const target = await loadWebhookTarget(this.#db, bpmnProcessId);
    // Unknown ids are not kept: random URLs must not fill the memory.
    if (
      target.latest &&
      epoch !== undefined &&
      generation === this.#generation &&
      this.#notifications.listening(CHANNELS.webhookTargets) === epoch
    ) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(bpmnProcessId, { target, epoch, readAt });
    } else if (entry) {
      this.#entries.delete(bpmnProcessId);
    }
    return target;
  }

  /** Drops the entry of `bpmnProcessId`, or every entry. */
  forget(bpmnProcessId?: string): void {
    this.#generation++;
    if (bpmnProcessId === undefined) this.#entries.clear();
    else this.#entries.delete(bpmnProcessId);
  }

  close(): void {
    this.#off();
    this.#entries.clear();
  }
}

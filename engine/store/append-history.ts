import type { Db, HistoryEntry } from './rows.ts';
import { json } from './rows.ts';

/** Appends lifecycle events (history is append-only: a trigger rejects updates). */
export async function appendHistory(db: Db, entries: HistoryEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db('history').insert(
    entries.map((entry) => ({
      process_instance_id: entry.process_instance_id,
      element_instance_key: entry.element_instance_key ?? null,
      element_id: entry.element_id ?? null,
      event_type: entry.event_type,
      payload: entry.payload ? json(entry.payload) : null,
    })),
  );
}

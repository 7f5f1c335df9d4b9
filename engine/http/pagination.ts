/**
 * Every list route answers one page: `?limit=` (default `DEFAULT_PAGE_SIZE`, at most
 * `MAX_PAGE_SIZE`) rows after `?offset=`, and `page.nextOffset` to ask for the next one (null on the
 * last page). A page also stops once its rows reach `MAX_PAGE_BYTES` of JSON (it always holds at
 * least one row), so a response stays bounded whatever the rows hold.
 */
import { z } from 'zod';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;
/** Largest value of a PostgreSQL integer column. */
const PG_INTEGER_MAX = 2_147_483_647;

/** The `limit` and `offset` query parameters of a list route. */
export function pageQuery(defaultLimit = DEFAULT_PAGE_SIZE) {
  return {
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .default(defaultLimit)
      .meta({ description: `Rows per page, at most ${MAX_PAGE_SIZE}` }),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(PG_INTEGER_MAX)
      .default(0)
      .meta({ description: "Rows to skip: the previous page's page.nextOffset" }),
  };
}

export const PageInfo = z
  .object({
    limit: z.number().int(),
    offset: z.number().int(),
    nextOffset: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'The offset of the next page; null when this is the last' }),
  })
  .meta({ id: 'Page' });
export type PageInfo = z.infer<typeof PageInfo>;

/** What the list query is asked for: one row more than the page, to know whether another page follows. */
export function lookAhead(query: { limit: number; offset: number }): { limit: number; offset: number } {
  return { limit: query.limit + 1, offset: query.offset };
}

/** Cuts rows read with `lookAhead` to one page within `maxBytes` of JSON. */
export function toPage<T>(
  rows: T[],
  query: { limit: number; offset: number },
  maxBytes = MAX_PAGE_BYTES,
): { items: T[]; page: PageInfo } {
  const items: T[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, query.limit)) {
    bytes += Buffer.byteLength(JSON.stringify(row));
    if (items.length > 0 && bytes > maxBytes) break;
    items.push(row);
  }
  const more = items.length < rows.length;
  return {
    items,
    page: { limit: query.limit, offset: query.offset, nextOffset: more ? query.offset + items.length : null },
  };
}

import type { Knex } from 'knex';
import type { Page } from '../api.ts';

/** Applies a page's limit and offset to a list query (no bound when the page has none). */
export function withPage<Q extends Knex.QueryBuilder>(query: Q, page: Page): Q {
  if (page.limit !== undefined) query.limit(page.limit);
  if (page.offset) query.offset(page.offset);
  return query;
}

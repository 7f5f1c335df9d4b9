import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.ts';

/**
 * The database the CLI uses: `DATABASE_URL` when set, otherwise the embedded PostgreSQL under
 * `.operon/` in the working directory.
 */
export async function openDatabase(
  options: { env?: NodeJS.ProcessEnv; dir?: string; log?: (line: string) => void } = {},
): Promise<EmbeddedDatabase & { embedded: boolean }> {
  const env = options.env ?? process.env;
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, embedded: false, stop: async () => undefined };
  const embedded = await startEmbeddedPostgres({ dir: options.dir, log: options.log });
  return { ...embedded, embedded: true };
}

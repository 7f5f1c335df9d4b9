import { openContext } from '../context.ts';

/** `operon migrate`: applies pending migrations (harmless when there are none). */
export async function migrateCommand(): Promise<number> {
  const context = await openContext({ logLevel: 'warn' });
  try {
    const [done] = (await context.db.migrate.list()) as [unknown[], unknown[]];
    console.log(`migrations up to date (${done.length} applied)`);
    return 0;
  } finally {
    await context.close();
  }
}

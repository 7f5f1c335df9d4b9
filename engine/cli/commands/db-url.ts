import { readEmbeddedConfig, embeddedUrl } from '../../db/embedded.ts';
import { openDatabase } from '../../db/database.ts';

/**
 * `operon db-url`: the connection string for psql. With DATABASE_URL set, that; otherwise the
 * embedded server's (started and left running when it is not running yet, so the URL works).
 */
export async function dbUrlCommand(): Promise<number> {
  if (process.env.DATABASE_URL) {
    console.log(process.env.DATABASE_URL);
    return 0;
  }
  const stored = await readEmbeddedConfig();
  if (stored) {
    console.log(embeddedUrl(stored));
    return 0;
  }
  // Never created here: create it now so the printed URL points at a real database.
  const database = await openDatabase();
  console.log(database.url);
  await database.stop();
  return 0;
}

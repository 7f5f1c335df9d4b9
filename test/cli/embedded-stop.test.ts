/**
 * Ctrl-C in a terminal signals the whole process group, so the embedded PostgreSQL may have shut
 * down before `operon start` stops it after its workers: stopping it must still return.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../engine/db/embedded.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'operon-embedded-stop-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('stop() returns when the server already exited on the same SIGINT', async () => {
  const database = await startEmbeddedPostgres({ dir: join(dir, '.operon') });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('SELECT 1');
  client.on('error', () => undefined);
  const postmaster = Number((await readFile(join(dir, '.operon', 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  assert.ok(alive(postmaster), 'the server runs');
  process.kill(postmaster, 'SIGINT');
  while (alive(postmaster)) await new Promise((resolve) => setTimeout(resolve, 50));
  // Let the child's exit event be delivered before stop() is called, as after a terminal's Ctrl-C.
  await new Promise((resolve) => setTimeout(resolve, 200));
  let hung: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    database.stop().then(() => 'stopped'),
    new Promise((resolve) => {
      hung = setTimeout(() => resolve('hung'), 30_000);
    }),
  ]);
  clearTimeout(hung);
  assert.equal(outcome, 'stopped');
  await client.end().catch(() => undefined);
});

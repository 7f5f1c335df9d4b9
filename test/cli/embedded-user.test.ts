/**
 * Most people run Operon as themselves, not as root: the embedded PostgreSQL is then created and run
 * as that user. (As root it runs as a `postgres` user it creates, which the other tests cover, since
 * CI runs as root.) Run as root, this test becomes `nobody` for the command.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { letPostgresUserReach } from '../../engine/db/embedded.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'operon.js');
const FORK_JOIN = join(ROOT, 'test', 'engine', 'fixtures', 'fork-join.bpmn');
const asRoot = process.getuid?.() === 0;
let cwd: string;
let user: { uid: number; gid: number };

before(async () => {
  // A path with a space, quotes and a `$`: pg_ctl starts the server through a shell command line.
  cwd = await mkdtemp(join(tmpdir(), `operon embedded user's "$HOME"-`));
  if (!asRoot) return;
  user = {
    uid: Number((await run('id', ['-u', 'nobody'])).stdout),
    gid: Number((await run('id', ['-g', 'nobody'])).stdout),
  };
  await mkdir(join(cwd, 'tmp'));
  await chown(cwd, user.uid, user.gid);
  await chown(join(cwd, 'tmp'), user.uid, user.gid);
  // nobody must reach the checkout and this folder (a fresh clone or mktemp folder may be 0700), as
  // the postgres user must reach the data directory: the same search bit up the tree.
  for (const start of [ROOT, cwd]) await letPostgresUserReach(start);
});
after(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

it('as a user other than root, in a folder whose path has a space, quotes and a $, `operon run` creates the embedded database as that user, runs an instance and stops it', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error', HOME: cwd };
  delete env.DATABASE_URL;
  if (asRoot) env.TMPDIR = join(cwd, 'tmp');
  const { stdout } = await run(process.execPath, [BIN, 'run', FORK_JOIN, '--json'], {
    cwd,
    env,
    timeout: 120_000,
    ...(asRoot ? user : {}),
  });
  assert.equal((JSON.parse(stdout) as { state: string }).state, 'completed');
  const data = await stat(join(cwd, '.operon', 'pg', 'PG_VERSION'));
  assert.equal(
    data.uid,
    asRoot ? user.uid : process.getuid?.(),
    'the database files belong to the user who ran operon',
  );
  assert.ok(!existsSync(join(cwd, '.operon', 'pg', 'postmaster.pid')), 'the server stopped with the command');
});

/**
 * Without DATABASE_URL the CLI runs a real embedded PostgreSQL under .operon/ in the working
 * directory, and the next command reuses its data directory.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
const FORK_JOIN = fileURLToPath(new URL('../engine/fixtures/fork-join.bpmn', import.meta.url));
let cwd: string;

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'operon-embedded-'));
});
after(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

async function operon(...args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
  delete env.DATABASE_URL;
  const { stdout } = await run(process.execPath, [BIN, ...args], { cwd, env, timeout: 120_000 });
  return stdout;
}

it('runs an instance on the embedded database and keeps its data for the next command', async () => {
  const first = JSON.parse(await operon('run', FORK_JOIN, '--json')) as { state: string };
  assert.equal(first.state, 'completed');
  assert.ok((await stat(join(cwd, '.operon', 'pg', 'PG_VERSION'))).isFile());
  const config = JSON.parse(await readFile(join(cwd, '.operon', 'embedded-postgres.json'), 'utf8')) as { port: number };

  const second = JSON.parse(await operon('run', 'fork-join', '--json')) as { state: string };
  assert.equal(second.state, 'completed');
  const instances = JSON.parse(await operon('instances', '--json')) as unknown[];
  assert.equal(instances.length, 2, "the second command saw the first one's data");
  const url = (await operon('db-url')).trim();
  assert.match(url, new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${config.port}/operon$`));
});

it('a postmaster.pid left by a server that died, whose pid is now another process, is not taken for a running server', async () => {
  const { runningEmbeddedServer } = await import('../../engine/db/embedded-state.ts');
  const config = JSON.parse(await readFile(join(cwd, '.operon', 'embedded-postgres.json'), 'utf8')) as { port: number };
  // As after a reboot or a container restart: the file names the old port, and its pid is alive.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const pidFile = join(cwd, '.operon', 'pg', 'postmaster.pid');
    await writeFile(
      pidFile,
      `${other.pid}\n${join(cwd, '.operon', 'pg')}\n1796600000\n${config.port}\n/tmp\nlocalhost\n  1  2\nready   \n`,
    );
    assert.equal(await runningEmbeddedServer(join(cwd, '.operon')), undefined);
    assert.equal((JSON.parse(await operon('run', 'fork-join', '--json')) as { state: string }).state, 'completed');
    const instances = JSON.parse(await operon('instances', '--json')) as unknown[];
    assert.equal(instances.length, 3, 'the same data directory, started again');
  } finally {
    other.kill();
  }
});

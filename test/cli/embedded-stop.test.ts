/**
 * Ctrl-C in a terminal signals the whole foreground process group. The embedded PostgreSQL runs in a
 * session of its own, so it keeps serving while `operon start`'s workers hand their jobs back and
 * stops after them; and a server someone stopped already does not make stopping hang.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../engine/db/embedded.ts';
import { processAlive } from '../../engine/db/embedded-state.ts';
import { SAMPLE_APPLICATION } from '../../engine/cli/stack.ts';
import { freePort } from '../support/operon-server.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'operon-embedded-stop-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The process group of `pid` (the fifth field of /proc/<pid>/stat, after the command in parentheses). */
async function processGroup(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

const alive = processAlive;

/** The postmaster's pid, from the data directory under the `.operon` folder given. */
async function postmasterOf(folder: string): Promise<number> {
  return Number((await readFile(join(folder, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

/** Waits up to 5 s for `pid` to end: pg_ctl returns once postmaster.pid is gone, a moment before the postmaster exits. */
async function untilGone(pid: number): Promise<void> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Waits up to 90 s for `done`, failing with `why()` once the time is up or `done` can no longer come. */
async function until(done: () => boolean, why: () => string, possible: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!done()) {
    assert.ok(Date.now() < deadline && possible(), why());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('stop() returns when the server was already stopped by a signal', async () => {
  const database = await startEmbeddedPostgres({ dir: join(dir, '.operon') });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('SELECT 1');
  client.on('error', () => undefined);
  const postmaster = await postmasterOf(join(dir, '.operon'));
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

it("a terminal's Ctrl-C (SIGINT to operon start's process group) after a bot ran stops the workers first, then the database; nothing loses its connection", async () => {
  const cwd = join(dir, 'start');
  await mkdir(cwd, { recursive: true });
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: String(port),
    OPERON_API_TOKEN: 'ctrl-c-token',
  };
  delete env.DATABASE_URL;
  delete env.OPERON_WEBHOOK_SECRET;
  const bin = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
  // A process group of its own, like a command started from a shell: the signal goes to the group.
  const child = spawn(process.execPath, [bin, 'start', '--demo-port', String(await freePort())], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 90_000;
    await until(
      () => stderr.includes('Ctrl-C stops it'),
      () => `operon start did not come up:\n${stderr}`,
    );
    // A loan application through the shipped process: its bots launch Chromium, whose
    // Playwright launcher would otherwise take SIGINT over and exit the process half-way through.
    const started = await fetch(`http://127.0.0.1:${port}/webhooks/loan-approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(SAMPLE_APPLICATION),
    });
    assert.equal(started.status, 202);
    const { instanceId } = (await started.json()) as { instanceId: string };
    let instance: { state: string; variables: Record<string, unknown> } = { state: '', variables: {} };
    while (instance.state !== 'completed') {
      assert.ok(Date.now() < deadline + 90_000, `the loan did not complete (${instance.state}):\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      const response = await fetch(`http://127.0.0.1:${port}/api/instances/${instanceId}`, {
        headers: { authorization: 'Bearer ctrl-c-token' },
      });
      instance = (await response.json()) as typeof instance;
    }
    assert.equal(typeof instance.variables.creditScore, 'number', 'the credit-bureau bot ran');
    const postmaster = await postmasterOf(join(cwd, '.operon'));
    assert.ok(alive(postmaster));
    assert.notEqual(
      await processGroup(postmaster),
      await processGroup(child.pid!),
      'the database runs outside the group',
    );
    process.kill(-child.pid!, 'SIGINT');
    assert.equal(await exited, 0, stderr);

    const lines = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; time: number; msg: string });
    assert.deepEqual(
      lines.filter((line) => line.level >= 40).map((line) => line.msg),
      [],
      'no warning or error while stopping (a lost LISTEN connection is one)',
    );
    const workerStopped = lines.find((line) => line.msg === 'worker stopped');
    assert.ok(workerStopped, 'the worker stopped');
    await untilGone(postmaster);
    assert.ok(!alive(postmaster), 'the database stopped with operon start');
    assert.ok(!existsSync(join(cwd, '.operon', 'pg', 'postmaster.pid')));
    assert.ok(!existsSync(join(cwd, '.operon', 'pg-owner.pid')), 'the shutdown ran to its end');
    // The server's own log: one shutdown request, and it came after the worker had stopped.
    const log = await readFile(join(cwd, '.operon', 'pg', 'log', 'postgres.log'), 'utf8');
    const requests = log.split('\n').filter((line) => line.includes('shutdown request'));
    assert.equal(requests.length, 1, log);
    assert.match(requests[0]!, /fast shutdown request/);
    const requestedAt = Date.parse(requests[0]!.slice(0, 23).replace(' ', 'T') + 'Z');
    assert.ok(
      requestedAt >= workerStopped.time - 5,
      `database asked to stop at ${requestedAt}, worker stopped at ${workerStopped.time}`,
    );
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
});

it('a server whose operon start was SIGKILLed keeps running; the next command takes it over and stops it when it ends', async () => {
  const cwd = join(dir, 'killed');
  await mkdir(join(cwd, 'processes'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
  };
  delete env.DATABASE_URL;
  const bin = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'start', '--demo-port', String(await freePort())], {
    cwd,
    env: { ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await until(
    () => stderr.includes('Ctrl-C stops it'),
    () => `operon start did not come up:\n${stderr}`,
  );
  const pidFile = join(cwd, '.operon', 'pg', 'postmaster.pid');
  const postmaster = await postmasterOf(join(cwd, '.operon'));
  child.kill('SIGKILL');
  await exited;
  assert.ok(alive(postmaster), 'the server outlives a SIGKILLed operon start');

  const fixture = fileURLToPath(new URL('../engine/fixtures/fork-join.bpmn', import.meta.url));
  const run = spawn(process.execPath, [bin, 'run', fixture, '--json'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  run.stdout.on('data', (chunk) => (stdout += chunk));
  assert.equal(await new Promise((resolve) => run.once('exit', resolve)), 0);
  assert.equal((JSON.parse(stdout) as { state: string }).state, 'completed');
  await untilGone(postmaster);
  assert.ok(!alive(postmaster), 'operon run, which took the server over, stopped it');
  assert.ok(!existsSync(pidFile));
});

it('Ctrl-C on a command that started the server and does not handle signals itself still stops the server', async () => {
  const folder = join(dir, 'short', '.operon');
  const holder = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./support/hold-embedded.ts', import.meta.url)), folder],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  holder.stdout.on('data', (chunk) => (output += chunk));
  holder.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  await until(
    () => output.includes('up'),
    () => output,
    () => holder.exitCode === null,
  );
  const postmaster = await postmasterOf(folder);
  holder.kill('SIGINT');
  await exited;
  await untilGone(postmaster);
  assert.ok(!alive(postmaster), 'the server stopped with the process that started it');
  assert.ok(!existsSync(join(folder, 'pg-owner.pid')));
});

it('a server started, stopped and started again by one process is stopped by the second stop() too', async () => {
  const folder = join(dir, 'twice', '.operon');
  for (let round = 1; round <= 2; round++) {
    const database = await startEmbeddedPostgres({ dir: folder });
    const postmaster = await postmasterOf(folder);
    await database.stop();
    await untilGone(postmaster);
    assert.ok(!alive(postmaster), `round ${round}: stopped`);
  }
});

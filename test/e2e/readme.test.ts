/**
 * The README as a new user meets it: `npx operon start` in an empty directory (embedded
 * PostgreSQL, nothing configured), the curl it prints pasted into a shell, and the instance found
 * with the README's psql command. `npx operon` in a checkout is bin/operon.js, run here directly
 * because an empty directory has no node_modules/.bin.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../support/operon-server.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
let cwd: string;

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'operon-readme-'));
});
after(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

/** A README command line with `npx operon` spelled as the checkout's bin. */
const asInCheckout = (command: string) =>
  command.replaceAll('npx operon', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`);

it("start prints a curl that starts a loan application, and the README's psql finds it", {
  timeout: 120_000,
}, async () => {
  const readme = await readFile(README, 'utf8');
  assert.match(readme, /^npm install && npx operon start/m, "the README's first command");
  assert.match(readme, /^npm test/m, "the README's second command");
  const psqlLine = readme
    .split('\n')
    .map((line) => line.trim())
    .find((line) =>
      line.startsWith(
        'psql "$(npx operon db-url)" -c "SELECT id, bpmn_process_id, state, active_elements FROM instance_overview"',
      ),
    );
  assert.ok(psqlLine, 'the README shows how to find instances in psql');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(await freePort()),
    DEMO_APPS_PORT: String(await freePort()),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.OPERON_API_TOKEN;
  const child = spawn(process.execPath, [BIN, 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const curl = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const line = stdout.split('\n').find((l) => l.startsWith('curl '));
        if (line) {
          clearInterval(timer);
          resolve(line);
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`start exited ${child.exitCode}: ${stdout}\n${stderr}`));
        }
      }, 100);
    });
    assert.match(stdout, /API token\s+op_/, 'the generated token is printed');
    assert.match(stdout, /Cockpit\s+http:\/\/127\.0\.0\.1:\d+\/ui/);
    assert.match(stdout, /Demo apps\s+http:\/\//);
    assert.match(stdout, /Processes\s+.*loan-approval v1.*order-routing v1/);

    const answer = JSON.parse((await run('sh', ['-c', curl], { cwd, timeout: 20_000 })).stdout) as {
      instanceId: string;
    };
    assert.match(answer.instanceId, /^[0-9a-f-]{36}$/);

    const { stdout: table } = await run('sh', ['-c', asInCheckout(psqlLine)], { cwd, env, timeout: 30_000 });
    const row = table.split('\n').find((line) => line.includes(answer.instanceId));
    assert.ok(row, `psql lists the instance:\n${table}`);
    assert.match(row, /loan-approval/);

    // The "Inspect in SQL" queries, as written, against the same database.
    const section = readme.slice(readme.indexOf('## Inspect in SQL'));
    const queries = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(queries, 'the README has SQL queries');
    await writeFile(join(cwd, 'readme.sql'), queries);
    const { stdout: results } = await run(
      'sh',
      ['-c', asInCheckout(`psql "$(npx operon db-url)" -v ON_ERROR_STOP=1 -f readme.sql`)],
      { cwd, env, timeout: 30_000 },
    ).catch((error: { stderr?: string }) => {
      throw new Error(`README queries failed: ${error.stderr}`);
    });
    assert.ok(results.includes(answer.instanceId), 'the first query lists the instance');
  } finally {
    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000)),
    ]);
    if (code === 'timeout') child.kill('SIGKILL');
    assert.equal(code, 0, `start stops cleanly on SIGTERM:\n${stderr.slice(-2000)}`);
  }
});

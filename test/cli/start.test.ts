/**
 * `operon start` brings up everything on one database: migrations, processes/ deployed, the HTTP
 * API and workers; SIGTERM shuts it down cleanly.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine, waitFor, waitForState } from '../engine/support/harness.ts';
import { freePort } from '../support/operon-server.ts';

const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
let db: TestDatabase;
let cwd: string;

before(async () => {
  db = await createTestDatabase();
  cwd = await mkdtemp(join(tmpdir(), 'operon-start-'));
  await mkdir(join(cwd, 'processes'));
  await copyFile(
    fileURLToPath(new URL('../engine/fixtures/fork-join.bpmn', import.meta.url)),
    join(cwd, 'processes', 'fork-join.bpmn'),
  );
});
after(async () => {
  await db?.drop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

it('serves the API, deploys processes/ and runs instances with its workers until SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'start'], {
    cwd,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      OPERON_API_TOKEN: 'test-token',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const client = await openEngine(db.url, { worker: false });
  try {
    await waitFor(async () => stderr.includes('HTTP API listening'), 30_000, 'the API to listen');
    const response = await fetch(`http://127.0.0.1:${port}/api/processes`, {
      headers: { authorization: 'Bearer test-token' },
    });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /fork-join/);

    const { instanceId } = await client.engine.startInstance('fork-join');
    await waitForState(client.engine, instanceId, 'completed', 20_000);
    const owners = await client.knex('jobs').where({ process_instance_id: instanceId }).distinct('owner');
    assert.equal(owners.length, 1, 'the started process ran the jobs');

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(stderr, /worker stopped/);
  } finally {
    child.kill('SIGKILL');
    await client.close();
  }
});

it('a port in use: exit 1 with OPERON_ERR_PORT_IN_USE naming it, and no warning on the way out', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const child = spawn(process.execPath, [BIN, 'start', '--no-deploy'], {
      cwd,
      env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exit) => resolve(exit)));
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`error OPERON_ERR_PORT_IN_USE: Port ${port} .*--port`));
    assert.doesNotMatch(stderr, /"level":[45]0/, 'no warning or error logged while giving up');
  } finally {
    busy.close();
  }
});

/**
 * Given a worker's Chromium that stops answering (SIGSTOP: what a wedged browser looks like from
 * the runner), when a bot job starts, then it still ends at its timeout (setting up a context is
 * bounded too), and once the browser answers again the next job succeeds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createBotNode, defineBot } from '../../nodes/bot/index.ts';
import type { OperonError } from '../../engine/errors.ts';
import type { NodeContext } from '../../engine/nodes/types.ts';
import { directRecord, recordsWritten } from '../support/node-context.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { browserProcesses } from '../hostile/support/processes.ts';

const blankBot = defineBot({
  name: 'blank',
  input: z.object({}),
  output: z.object({ title: z.string() }),
  async run({ page }) {
    await page.setContent('<title>blank</title>');
    return { title: await page.title() };
  },
});

let db: TestDatabase;
const node = createBotNode({ bots: [blankBot], baseUrl: 'about:blank', trace: false });
const logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => logger };
const ctx = (headers: Record<string, string> = {}): NodeContext => ({
  signal: new AbortController().signal,
  logger,
  instanceId: randomUUID(),
  elementId: 'Blank',
  elementInstanceId: randomUUID(),
  jobId: randomUUID(),
  attempt: 1,
  taskType: 'bot:blank',
  headers,
  secrets: { get: () => undefined, values: () => [] },
  record: directRecord(
    () => db.knex,
    () => node,
  ),
});

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await node.close?.();
  await db?.drop();
});

test('a job on a browser that stopped answering ends at its timeout; the browser serves the next job once it answers again', {
  timeout: 60_000,
}, async () => {
  assert.deepEqual(await node.run({}, ctx()), { title: 'blank' });
  // The browser process itself: the Chromium directly below this process.
  const browser = browserProcesses().find((entry) => entry.ppid === process.pid);
  assert.ok(browser, 'Chromium runs below this process');
  process.kill(browser.pid, 'SIGSTOP');
  try {
    await assert.rejects(node.run({}, ctx({ timeoutMs: '1000' })), (error: OperonError) => {
      assert.equal(error.code, 'OPERON_ERR_NODE_TIMEOUT');
      return true;
    });
  } finally {
    process.kill(browser.pid, 'SIGCONT');
  }
  assert.deepEqual(await node.run({}, ctx()), { title: 'blank' });
  await recordsWritten();
  const outcomes = (await db.knex('bot_runs').orderBy('started_at').select('outcome')).map((row) => row.outcome);
  assert.deepEqual(outcomes, ['succeeded', 'timed_out', 'succeeded']);
});

/**
 * Shared body of the hostile-page tests: bot jobs run by the engine's worker in real Chromium
 * against a local site (allowed by the egress policy) whose pages attack the browser: an endless
 * script, a window.open storm, a JS-heap memory bomb, an ArrayBuffer memory bomb, plus ordinary
 * pages in between. The bot waits without a limit of its own, so only the task's `timeoutMs`
 * stops it. Each hostile job must be stopped at its timeout and end as an incident (retries = 1),
 * each ordinary one must complete, the worker must stay healthy, and afterwards Chromium's
 * renderer processes must come back to what they were after the first job (the total may grow by
 * at most two helper services Chromium starts lazily; they are reported by role).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createEngine } from '../../../engine/engine.ts';
import { createKnex } from '../../../engine/store/knex.ts';
import { createNodeRegistry } from '../../../nodes/index.ts';
import { createBotNode, defineBot } from '../../../nodes/bot/index.ts';
import { createTestDatabase } from '../../support/db.ts';
import { waitFor } from '../../engine/support/harness.ts';
import { browserProcesses, type ProcessEntry } from './processes.ts';

/** The attack pages; `/ok` is the ordinary page a bot can finish. */
export const PAGES: Record<string, string> = {
  '/ok': '<h1 id="done">ok</h1>',
  '/loop': '<script>for (;;) {}</script><h1 id="done">never</h1>',
  '/popups': `<script>
    for (let i = 0; i < 50; i++) window.open('/popup', '_blank');
    setInterval(() => { for (let i = 0; i < 10; i++) window.open('/popup', '_blank'); }, 20);
  </script>`,
  '/popup': `<p>popup</p><script>window.open('/popup-of-popup', '_blank'); setInterval(() => history.pushState({}, '', '?' + Math.random()), 5);</script>`,
  '/popup-of-popup': '<p>popup of a popup</p>',
  '/memory': '<script>const hog = []; for (;;) hog.push(new Array(1 << 20).fill(Math.random()));</script>',
  '/memory-buffers':
    '<script>const hog = []; setInterval(() => hog.push(new Uint8Array(32 << 20).fill(7)), 25);</script>',
};
const HOSTILE = ['/loop', '/popups', '/memory', '/memory-buffers'];

const hostilePageBot = defineBot({
  name: 'hostile-page',
  input: z.object({ page: z.string() }),
  output: z.object({ text: z.string() }),
  async run({ page, input, baseUrl }) {
    // No limit of the bot's own: only the task's timeout can end a page that never finishes.
    await page.goto(`${baseUrl}${input.page}`, { timeout: 0 });
    return { text: (await page.locator('#done').textContent({ timeout: 0 })) ?? '' };
  },
});

function processXml(processId: string, timeoutMs: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://operon.test">
  <bpmn:process id="${processId}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="visit">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="bot:hostile-page" retries="1" />
        <zeebe:taskHeaders><zeebe:header key="timeoutMs" value="${timeoutMs}" /></zeebe:taskHeaders>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="visit" />
    <bpmn:sequenceFlow id="f2" sourceRef="visit" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;
}

function serve(): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const body = PAGES[(request.url ?? '').split('?')[0]!];
    response.writeHead(body ? 200 : 404, { 'content-type': 'text/html' });
    response.end(`<!doctype html><html><body>${body ?? 'not found'}</body></html>`);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

export interface HostilePagesResult {
  jobs: number;
  hostile: number;
  incidents: number;
  completed: number;
  outcomes: Record<string, number>;
  baselineProcesses: number;
  baselineRenderers: number;
  peakProcesses: number;
  peakRenderers: number;
  peakBrowserRssMb: number;
  processesAfter: number;
  renderersAfter: number;
  /** Chromium helper processes (not renderers) that started during the run and stayed. */
  helpersStarted: string[];
  browserLaunches: number;
  seconds: number;
}

/** Runs `jobs` bot jobs, every fifth an ordinary page, the rest the attack pages in turn. */
export async function runHostilePages(options: {
  jobs: number;
  timeoutMs: number;
  concurrency?: number;
}): Promise<HostilePagesResult> {
  const concurrency = options.concurrency ?? 2;
  const db = await createTestDatabase();
  const site = await serve();
  const artifactsDir = mkdtempSync(join(tmpdir(), 'operon-hostile-pages-'));
  const bot = createBotNode({ bots: [hostilePageBot], baseUrl: site.origin, concurrency, artifactsDir });
  const knex = createKnex(db.url, { poolMax: 5, applicationName: 'operon-hostile-pages' });
  const nodes = await createNodeRegistry({ extra: [bot] });
  // As many jobs as browser contexts: a job never waits for a context while its timeout runs.
  const engine = createEngine({
    db: knex,
    nodes,
    worker: { concurrency, lockMs: 30_000, pollIntervalMs: 100, shutdownGraceMs: 2_000 },
  });
  const startedAt = performance.now();
  let peakProcesses = 0;
  let peakRssKb = 0;
  let peakRenderers = 0;
  const sampler = setInterval(() => {
    const processes = browserProcesses();
    peakProcesses = Math.max(peakProcesses, processes.length);
    peakRenderers = Math.max(peakRenderers, processes.filter((entry) => entry.role === 'renderer').length);
    peakRssKb = Math.max(
      peakRssKb,
      processes.reduce((sum, entry) => sum + entry.rssKb, 0),
    );
  }, 100);
  try {
    // Ordinary pages get a generous timeout: they must complete even while a memory bomb slows the machine.
    await engine.deploy([
      { name: 'hostile-page.bpmn', xml: processXml('hostile-page', options.timeoutMs) },
      { name: 'ordinary-page.bpmn', xml: processXml('ordinary-page', 60_000) },
    ]);
    const start = (page: string) => engine.startInstance(page === '/ok' ? 'ordinary-page' : 'hostile-page', { page });
    const settle = async (ids: string[]) =>
      waitFor(
        async () => {
          const [row] = await db
            .knex('process_instances as p')
            .whereIn('p.id', ids)
            .where((q) =>
              q
                .where('p.state', 'completed')
                .orWhereExists(
                  db.knex('incidents as i').whereRaw('i.process_instance_id = p.id').where('i.state', 'open'),
                ),
            )
            .count<{ count: string }[]>('* as count');
          return Number(row!.count) === ids.length;
        },
        Math.max(120_000, options.jobs * options.timeoutMs * 4),
        `${ids.length} bot jobs to complete or raise an incident`,
      );

    // The baseline: the browser as it stands after one ordinary job (browser, zygotes, GPU, network service).
    await bot.browser.browser();
    const first = await start('/ok');
    await settle([first.instanceId]);
    assert.equal((await engine.getInstance(first.instanceId))?.state, 'completed', 'the warm-up job completes');
    await stableProcessCount();
    const baseline = browserProcesses();

    const pages = Array.from({ length: options.jobs }, (_, i) => (i % 5 === 4 ? '/ok' : HOSTILE[i % 5]!));
    const ids: string[] = [];
    for (const page of pages) ids.push((await start(page)).instanceId);
    await settle(ids);

    const rows = await db.knex('process_instances').whereIn('id', ids).select('id', 'state', 'variables');
    const incidents = await db
      .knex('incidents')
      .whereIn('process_instance_id', ids)
      .where({ state: 'open' })
      .select('process_instance_id', 'message');
    const incidentOf = new Map(incidents.map((row) => [row.process_instance_id, row.message as string]));
    const stateOf = new Map(rows.map((row) => [row.id, row.state as string]));
    for (const [i, id] of ids.entries()) {
      if (pages[i] === '/ok') {
        assert.equal(
          stateOf.get(id),
          'completed',
          `job ${i} (/ok) completes between hostile jobs (${incidentOf.get(id) ?? 'no incident'})`,
        );
        assert.equal(incidentOf.has(id), false);
      } else {
        assert.equal(stateOf.get(id), 'active', `job ${i} (${pages[i]}) does not complete`);
        // Stopped at its timeout; a JS-heap bomb may instead reach Chromium's heap limit first, which
        // crashes its renderer: the browser's own kill, a failed run all the same.
        const stoppedBy = pages[i] === '/memory' ? /within \d+ ms|crash/i : /within \d+ ms/;
        assert.match(
          incidentOf.get(id) ?? 'no incident',
          stoppedBy,
          `job ${i} (${pages[i]}) stopped at its timeout: ${incidentOf.get(id)}`,
        );
      }
    }
    assert.equal(incidents.length, pages.filter((page) => page !== '/ok').length, 'one incident per hostile job');
    const runs = await db
      .knex('bot_runs')
      .whereIn('process_instance_id', ids)
      .select('outcome')
      .count('* as count')
      .groupBy('outcome');
    const outcomes = Object.fromEntries(runs.map((row) => [row.outcome as string, Number(row.count)]));
    assert.equal(
      Object.values(outcomes).reduce((a, b) => a + b, 0),
      ids.length,
      'one bot run per job (retries = 1)',
    );
    assert.equal(outcomes.succeeded, pages.filter((page) => page === '/ok').length);
    // The bot stops itself at timeoutMs (the worker's deadline only backs it up), so its runs say why.
    assert.ok(
      (outcomes.timed_out ?? 0) > 0,
      `hostile runs are recorded as timed_out, not aborted: ${JSON.stringify(outcomes)}`,
    );

    // Healthy afterwards: nothing running, no context left, the same worker completes an ordinary job.
    // A job leaves the worker's running set after its incident commits, so the last one may still be
    // in it when settle() sees the incident: wait for the set to empty rather than read it at once.
    await waitFor(async () => engine.worker?.running === 0, 10_000, 'the worker to have no job running');
    assert.equal(engine.worker?.running, 0);
    assert.equal((await bot.browser.browser()).contexts().length, 0, 'every context is closed');
    const last = await start('/ok');
    await settle([last.instanceId]);
    assert.equal(
      (await engine.getInstance(last.instanceId))?.state,
      'completed',
      'an ordinary job after the hostile ones',
    );

    // Renderers of closed contexts exit shortly after; wait for them, no longer than a minute. Chromium
    // may also have started a helper service meanwhile (a utility process, not a page's): such
    // processes are reported, renderers must be back to what they were.
    const renderers = (entries: ProcessEntry[]) => entries.filter((entry) => entry.role === 'renderer').length;
    const roles = (entries: ProcessEntry[]) =>
      entries
        .map((entry) => entry.role)
        .sort()
        .join(', ');
    const after = await waitFor(
      async () => {
        const now = browserProcesses();
        return renderers(now) <= renderers(baseline) && now.length <= baseline.length + 2 ? now : undefined;
      },
      60_000,
      `Chromium's processes to come back to [${roles(baseline)}] (now [${roles(browserProcesses())}])`,
    );
    assert.ok(
      peakRenderers > 0,
      'renderer processes were told apart while pages ran (else the check above proves nothing)',
    );
    const basePids = new Set(baseline.map((entry) => entry.pid));
    const helpersStarted = after
      .filter((entry) => !basePids.has(entry.pid) && entry.role !== 'renderer')
      .map((entry) => entry.role);
    return {
      jobs: ids.length,
      hostile: incidents.length,
      incidents: incidents.length,
      completed: rows.filter((row) => row.state === 'completed').length,
      outcomes,
      baselineProcesses: baseline.length,
      baselineRenderers: renderers(baseline),
      peakProcesses,
      peakRenderers,
      peakBrowserRssMb: Math.round(peakRssKb / 1024),
      processesAfter: after.length,
      renderersAfter: renderers(after),
      helpersStarted,
      browserLaunches: bot.browser.launches,
      seconds: Math.round((performance.now() - startedAt) / 100) / 10,
    };
  } finally {
    clearInterval(sampler);
    await engine.close();
    await nodes.close();
    await knex.destroy();
    site.server.close();
    rmSync(artifactsDir, { recursive: true, force: true });
    await db.drop();
  }
}

/** Waits until the process count stops changing (a renderer may still be exiting after the warm-up). */
async function stableProcessCount(): Promise<void> {
  let previous = -1;
  for (let i = 0; i < 20; i++) {
    const count = browserProcesses().length;
    if (count === previous) return;
    previous = count;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Browser-test harness: a real engine with workers and the HTTP app (cockpit included) listening on
 * a free port over a fresh test database, and one headless Chromium per test file.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createEngine, type PostgresEngine } from '../../../engine/engine.ts';
import { buildApp } from '../../../engine/http/app.ts';
import type { OidcSettings } from '../../../engine/http/identity.ts';
import type { NodeType } from '../../../engine/nodes/types.ts';
import { createNodeRegistry } from '../../../nodes/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

export interface Cockpit {
  db: TestDatabase;
  engine: PostgresEngine;
  app: FastifyInstance;
  baseUrl: string;
  token: string;
  browser: Browser;
  page: Page;
  /** Saves a full-page screenshot under the test's screenshot folder (and docs/img when OPERON_UI_DOCS_SCREENSHOTS=1); returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The screenshots docs/ui.md shows, refreshed by running the browser test with OPERON_UI_DOCS_SCREENSHOTS=1. */
const DOCS_SCREENSHOTS = new Set(['cockpit-process', 'cockpit-instance-waiting', 'cockpit-inbox', 'cockpit-incident']);

export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
}

export async function startCockpit(
  options: { nodes?: NodeType[]; artifactsDir?: string; oidc?: OidcSettings } = {},
): Promise<Cockpit> {
  const db = await createTestDatabase({ poolMax: 8 });
  const nodes = await createNodeRegistry({ extra: options.nodes ?? [] });
  const engine = createEngine({ db: db.knex, nodes, worker: { concurrency: 2, pollIntervalMs: 200, lockMs: 30_000 } });
  const token = `ui_${randomBytes(16).toString('hex')}`;
  if (options.artifactsDir) process.env.OPERON_ARTIFACTS_DIR = options.artifactsDir;
  const app = await buildApp({
    engine,
    db: db.knex,
    apiToken: token,
    defaultMetrics: false,
    ...(options.oidc ? { oidc: options.oidc } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.setDefaultTimeout(15_000);
  // Script errors in the page are test failures waiting to happen: make them visible.
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.error(`[page console] ${message.text()}`);
  });
  const shots = join(tmpdir(), 'operon-ui-screenshots');
  mkdirSync(shots, { recursive: true });
  return {
    db,
    engine,
    app,
    baseUrl,
    token,
    browser,
    page,
    async screenshot(name) {
      const path = join(shots, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      if (process.env.OPERON_UI_DOCS_SCREENSHOTS === '1' && DOCS_SCREENSHOTS.has(name))
        await page.screenshot({
          path: new URL(`../../../docs/img/${name}.png`, import.meta.url).pathname,
          fullPage: true,
        });
      return path;
    },
    async close() {
      await browser.close().catch(() => {});
      await app.close();
      await engine.close();
      await nodes.close();
      await db.drop();
    },
  };
}

/** Polls until `check` returns a value (the engine's workers run asynchronously). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

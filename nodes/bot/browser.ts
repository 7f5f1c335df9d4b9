/**
 * Finding and keeping one Chromium per worker process: discovery (configured path, Debian's
 * /usr/bin/chromium, Playwright's managed browser), lazy launch, relaunch after a crash.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { OperonError } from '../../engine/errors.ts';

/**
 * Flags for a headless Chromium in a container: no sandbox (no user namespaces), no background
 * traffic, no UDP from WebRTC (the egress policy also removes WebRTC from pages).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
];

/**
 * The Chromium to run: `configured` (option), `OPERON_CHROMIUM_PATH`, /usr/bin/chromium, then
 * Playwright's managed browser. Throws OPERON_ERR_BROWSER_NOT_FOUND saying how to install one.
 */
export function discoverChromium(
  configured?: string,
  env: NodeJS.ProcessEnv = process.env,
  fallbacks: (string | undefined)[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser', managedChromium()],
): string {
  const tried: string[] = [];
  for (const candidate of [configured, env.OPERON_CHROMIUM_PATH, ...fallbacks]) {
    if (!candidate) continue;
    if (existsSync(candidate)) return candidate;
    tried.push(candidate);
  }
  throw new OperonError(
    'OPERON_ERR_BROWSER_NOT_FOUND',
    `No Chromium found (tried ${tried.join(', ') || 'nothing'}). Install one with 'apt-get install chromium' or 'npx playwright install chromium', or set OPERON_CHROMIUM_PATH to the executable.`,
    { details: { tried }, retryable: false },
  );
}

/**
 * Playwright, loaded on first use: loading it takes about a second, which processes that load the
 * bot node only to check deployments against it (`operon deploy`) never spend.
 */
function chromium(): typeof import('playwright-core').chromium {
  return (createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core')).chromium;
}

function managedChromium(): string | undefined {
  try {
    return chromium().executablePath();
  } catch {
    return undefined;
  }
}

/** One browser, launched on first use and again after it disconnects (crash, killed process). */
export class BrowserHost {
  #browser: Promise<Browser> | undefined;
  #closed = false;
  /** Launches so far; a relaunch after a crash adds one. */
  launches = 0;

  constructor(private readonly options: { executablePath?: string; headless?: boolean }) {}

  /** Whether a browser is running (or starting). */
  get started(): boolean {
    return this.#browser !== undefined;
  }

  async browser(): Promise<Browser> {
    if (this.#closed) throw new Error('The bot browser is closed (worker shutting down)');
    if (!this.#browser) {
      const executablePath = discoverChromium(this.options.executablePath);
      const launching = chromium().launch({
        executablePath,
        headless: this.options.headless ?? true,
        args: CHROMIUM_ARGS,
        // Playwright's own handlers would close the browser under running bots on Ctrl-C or SIGTERM
        // and then exit the process (130) in the middle of the worker's shutdown, before its jobs are
        // handed back and the database is stopped. The worker's shutdown closes the browser itself.
        handleSIGINT: false,
        handleSIGTERM: false,
      });
      this.#browser = launching;
      this.launches += 1;
      const forget = () => {
        if (this.#browser === launching) this.#browser = undefined;
      };
      launching.then((browser) => {
        browser.on('disconnected', forget);
        guardDisposedReplies(browser);
      }, forget);
    }
    return this.#browser;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const browser = await this.#browser?.catch(() => undefined);
    this.#browser = undefined;
    await browser?.close().catch(() => undefined);
  }
}

interface ClientConnection {
  dispatch(message: { id?: number | string }): void;
  _callbacks?: Map<number | string, { reject(error: Error): void }>;
}

const guarded = new WeakSet<object>();
const NOT_BOUND = /^Object with guid \S+ was not bound in the connection$/;

/**
 * Playwright can answer a navigation that finished while its page was being closed (a job aborted
 * mid-`goto`) with a Response object the client has already disposed. Decoding that answer throws
 * inside Playwright's message loop: an uncaught exception that would end the worker process, and the
 * call is never settled. This turns such an answer into a rejection of that one call, and drops an
 * event that refers to a disposed object. Relies on Playwright's client connection internals; when
 * they are missing it changes nothing.
 */
export function guardDisposedReplies(browser: Browser): void {
  const connection = (browser as unknown as { _connection?: ClientConnection })._connection;
  if (
    !connection ||
    typeof connection.dispatch !== 'function' ||
    !(connection._callbacks instanceof Map) ||
    guarded.has(connection)
  )
    return;
  guarded.add(connection);
  const dispatch = connection.dispatch.bind(connection);
  connection.dispatch = (message) => {
    const callback = message?.id !== undefined ? connection._callbacks!.get(message.id) : undefined;
    try {
      dispatch(message);
    } catch (error) {
      if (!(error instanceof Error) || !NOT_BOUND.test(error.message)) throw error;
      callback?.reject(new Error(`Target page, context or browser has been closed (${error.message})`));
    }
  };
}

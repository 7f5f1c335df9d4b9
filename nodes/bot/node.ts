/**
 * The `bot` node type: runs `bot:<name>` jobs in a fresh browser context of the worker's one
 * Chromium, under a concurrency limit, a hard timeout, the egress policy and secret masking, and
 * records every attempt in `bot_runs`, with a screenshot and a trace when it fails.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { OperonError, isBpmnError, isOperonError, type BpmnError } from '../../engine/errors.ts';
import type {
  NodeBinding,
  NodeContext,
  NodeTrace,
  NodeType,
  SecretStore,
  Variables,
} from '../../engine/nodes/types.ts';
import { workMetrics } from '../../engine/telemetry/metrics.ts';
import { BrowserHost } from './browser.ts';
import type { BotDefinition, BotLog, BotSecrets } from './define.ts';
import { hostsOf, installEgressPolicy, type BlockedRequest } from './egress.ts';
import { Limiter } from './limiter.ts';
import { BOT_RUN_RECORD, botRunRecordHook, botRunRow, type BotRunOutcome } from './runs.ts';
import { defaultBotContexts } from '../../engine/nodes/machine.ts';
import { containsSecret, createSecretStore, maskSecrets } from './secrets.ts';
import { scrubTrace } from './trace-scrub.ts';

export interface BotNodeOptions {
  bots: BotDefinition[];
  /** Chromium executable; default: OPERON_CHROMIUM_PATH, /usr/bin/chromium, Playwright's managed browser. */
  executablePath?: string;
  headless?: boolean;
  /**
   * Bot runs at once in this process (browser contexts). Default: one per core, half a GiB of free
   * memory each (the worker's `bot` pool has the same default, so no claimed job waits in here).
   */
  concurrency?: number;
  /** Hard limit per run; the context is closed when it passes. A `timeoutMs` task header overrides it. Default 60 s. */
  timeoutMs?: number;
  /** Playwright's default wait for one action or element. Default 10 s. */
  actionTimeoutMs?: number;
  /** `host:port` (or `host`) a bot may reach. Default: the hosts of the bots' base URLs (task headers never widen it). */
  allowedHosts?: string[];
  /** Where failure screenshots and traces go (directories 0700, files 0600). Default OPERON_ARTIFACTS_DIR, else .operon/artifacts. */
  artifactsDir?: string;
  /** Where bots' secrets come from first (then the job context's store). Default: environment + OPERON_SECRETS_FILE. */
  secrets?: SecretStore;
  /**
   * Base URL handed to every bot (e.g. the demo apps' root), unless `urls` names the bot. Default: the
   * bot's `url.env` variable, DEMO_APPS_URL, the bot's `url.default`. Only code and the environment decide
   * where a bot goes: a `url` task header is refused at deployment.
   */
  baseUrl?: string;
  /** Base URL per bot name. */
  urls?: Record<string, string>;
  /** Record a Playwright trace (kept only when a run fails). Default true. */
  trace?: boolean;
}

/** The reason a run's signal carries when its hard timeout passes. */
class BotTimeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

/** The reason a run's signal carries when a redirect hop reached a host outside the policy. */
class EgressViolation extends Error {}

const PASSWORD_FIELDS = 'input[type=password]';

/** The node that runs every `bot:<name>` task with the given bots. */
export function createBotNode(options: BotNodeOptions): NodeType & { readonly browser: BrowserHost } {
  const bots = new Map<string, BotDefinition>();
  for (const bot of options.bots) {
    if (bots.has(bot.name))
      throw new OperonError('OPERON_ERR_NODE_ALREADY_REGISTERED', `Bot '${bot.name}' is registered twice`, {
        details: { bot: bot.name },
      });
    bots.set(bot.name, bot);
  }
  const host = new BrowserHost({ executablePath: options.executablePath, headless: options.headless });
  const limiter = new Limiter(options.concurrency ?? defaultBotContexts());
  const store = options.secrets ?? createSecretStore();
  const artifactsRoot = resolve(options.artifactsDir ?? process.env.OPERON_ARTIFACTS_DIR ?? '.operon/artifacts');

  // Never from task headers or variables: a bot carries credentials, and whoever may move its base
  // URL could have it type them into their own page.
  function baseUrlOf(bot: BotDefinition): string {
    return (
      options.urls?.[bot.name] ??
      options.baseUrl ??
      (bot.url?.env ? process.env[bot.url.env] : undefined) ??
      process.env.DEMO_APPS_URL ??
      bot.url?.default ??
      'about:blank'
    );
  }

  function allowedHosts(): string[] {
    return options.allowedHosts ?? hostsOf(options.bots.map((bot) => baseUrlOf(bot)));
  }

  function botOf(taskType: string, elementId: string): BotDefinition {
    const name = taskType.slice(taskType.indexOf(':') + 1);
    const bot = bots.get(name);
    if (!bot)
      throw new OperonError(
        'OPERON_ERR_UNKNOWN_BOT',
        `Task '${elementId}' names unknown bot '${name}' (registered: ${[...bots.keys()].join(', ') || 'none'})`,
        { details: { elementId, bot: name } },
      );
    return bot;
  }

  return {
    name: 'bot',
    pool: 'bot',
    enforcesTimeout: true,
    recordHooks: [botRunRecordHook],
    browser: host,

    validate(binding: NodeBinding) {
      botOf(binding.taskType, binding.elementId);
      if (binding.headers.url !== undefined) {
        throw new OperonError(
          'OPERON_ERR_BPMN_INVALID',
          `Task '${binding.elementId}': a bot's address is set where the bot node is created (createBotNode baseUrl or urls), not by a 'url' task header`,
          { details: { elementId: binding.elementId, header: 'url' } },
        );
      }
    },

    async run(rawInput: Variables, ctx: NodeContext): Promise<Variables> {
      const bot = botOf(ctx.taskType, ctx.elementId);
      return ctx.trace
        ? ctx.trace.span(`bot ${bot.name}`, { attributes: { 'operon.bot.name': bot.name } }, attempt)
        : attempt();

      /** One run of the bot, in its own span (a child of the job's) when the job has one. */
      async function attempt(span?: NodeTrace): Promise<Variables> {
        const runId = randomUUID();
        const startedAt = new Date();
        const started = performance.now();
        const blocked: BlockedRequest[] = [];
        const record = (
          outcome: BotRunOutcome,
          extra: { errorCode?: string; errorMessage?: string; screenshotPath?: string; tracePath?: string } = {},
        ) => {
          workMetrics.botRun(bot.name, outcome);
          span?.setAttributes({ 'operon.bot.run_id': runId, 'operon.bot.outcome': outcome });
          ctx.record(
            BOT_RUN_RECORD,
            botRunRow({
              id: runId,
              bot: bot.name,
              processInstanceId: ctx.instanceId,
              elementId: ctx.elementId,
              elementInstanceKey: ctx.elementInstanceId,
              jobId: ctx.jobId,
              attempt: ctx.attempt,
              startedAt,
              durationMs: performance.now() - started,
              outcome,
              blockedRequests: blocked,
              ...extra,
            }),
          );
        };

        // Input first: a bad input fails before any browser work.
        const parsed = bot.input.safeParse(rawInput);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const field = issue.path.map(String).join('.') || '(input)';
          const error = new OperonError(
            'OPERON_ERR_NODE_INPUT',
            `Bot '${bot.name}' input field '${field}': ${issue.message}`,
            { details: { field, bot: bot.name, elementId: ctx.elementId }, retryable: false },
          );
          record('failed', { errorCode: error.code, errorMessage: error.message });
          throw error;
        }
        const secretValues = new Map<string, string>();
        for (const name of bot.secrets ?? []) {
          const value = store.get(name) ?? ctx.secrets.get(name);
          if (!value) {
            const error = new OperonError(
              'OPERON_ERR_BOT_SECRET_MISSING',
              `Bot '${bot.name}' needs secret ${name}: set OPERON_SECRET_${name} (or ${name}) in the environment, or add it to the secrets file (OPERON_SECRETS_FILE)`,
              { details: { secret: name, bot: bot.name }, retryable: false },
            );
            record('failed', { errorCode: error.code, errorMessage: error.message });
            throw error;
          }
          secretValues.set(name, value);
        }
        const mask = (text: string) =>
          maskSecrets(text, [...secretValues.values(), ...store.values(), ...ctx.secrets.values()]);
        const logger = ctx.logger.child({ bot: bot.name, botRunId: runId });
        const maskFields = (fields?: Record<string, unknown>) =>
          JSON.parse(mask(JSON.stringify(fields ?? {}))) as object;
        const log: BotLog = {
          info: (message, fields) => logger.info(maskFields(fields), mask(message)),
          warn: (message, fields) => logger.warn(maskFields(fields), mask(message)),
        };

        return limiter.run(async () => {
          const runDir = join(artifactsRoot, 'bot-runs', runId);
          const controller = new AbortController();
          const onOuterAbort = () => controller.abort(ctx.signal.reason ?? new Error('aborted'));
          if (ctx.signal.aborted) onOuterAbort();
          ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
          const timeoutMs =
            Number(ctx.headers.timeoutMs) > 0 ? Number(ctx.headers.timeoutMs) : (options.timeoutMs ?? 60_000);
          const timer = setTimeout(() => controller.abort(new BotTimeout(timeoutMs)), timeoutMs);
          const filled: Locator[] = [];
          let context: BrowserContext | undefined;
          let page: Page | undefined;
          let tracing = false;
          let egress: { abortPending(): Promise<void> } | undefined;
          const stopped = new Promise<never>((_, reject) => {
            const fail = () => reject(controller.signal.reason);
            if (controller.signal.aborted) fail();
            else controller.signal.addEventListener('abort', fail, { once: true });
          });
          stopped.catch(() => undefined);
          // Setting up ends when the run is stopped too: a browser that does not answer (frozen, or
          // swamped by hostile pages) must not hold the job past its timeout.
          const untilStopped = <T>(step: Promise<T>) => Promise.race([step, stopped]);

          try {
            const opening = newContext(host);
            // A context that arrives after the run was stopped is closed here; nothing else would.
            opening.then(
              (late) => {
                if (controller.signal.aborted && late !== context) void late.close().catch(() => undefined);
              },
              () => undefined,
            );
            context = await untilStopped(opening);
            const current = context;
            controller.signal.addEventListener(
              'abort',
              () => {
                // A timeout keeps the page for the screenshot (closed right after); anything else closes at once.
                if (!(controller.signal.reason instanceof BotTimeout)) void current.close().catch(() => undefined);
              },
              { once: true },
            );
            egress = await untilStopped(
              installEgressPolicy(
                context,
                allowedHosts(),
                (b) => {
                  blocked.push(b);
                  log.warn('egress policy blocked a request', { url: b.url, reason: b.reason });
                },
                (b) => {
                  blocked.push(b);
                  controller.abort(new EgressViolation(`${b.url}: ${b.reason}`));
                },
              ),
            );
            const startTrace = () =>
              current.tracing.start({ screenshots: true, snapshots: true, title: `${bot.name} ${runId}` });
            if (options.trace !== false) {
              await untilStopped(startTrace());
              tracing = true;
            }
            page = await untilStopped(context.newPage());
            page.setDefaultTimeout(options.actionTimeoutMs ?? 10_000);
            const secrets: BotSecrets = {
              async use(step) {
                // Tracing is stopped (and what it had discarded) while secrets are typed and submitted:
                // a paused chunk is not enough, the trace's network log spans chunks and keeps the form post.
                if (tracing) {
                  await current.tracing.stop();
                  tracing = false;
                }
                const resume = options.trace !== false;
                const scopeFilled: [Locator, string][] = [];
                const valueOf = (name: string) => {
                  const value = secretValues.get(name);
                  if (value === undefined)
                    throw new OperonError(
                      'OPERON_ERR_BOT_SECRET_MISSING',
                      `Bot '${bot.name}' did not declare secret ${name}`,
                      { details: { secret: name, bot: bot.name }, retryable: false },
                    );
                  return value;
                };
                try {
                  return await step({
                    fill: async (locator, name) => {
                      const value = valueOf(name);
                      filled.push(locator);
                      scopeFilled.push([locator, value]);
                      await locator.fill(value);
                    },
                    value: valueOf,
                  });
                } finally {
                  for (const [locator, value] of scopeFilled) {
                    // A field still holding a secret would show up in the next trace snapshot.
                    // count() does not wait: after the sign-in navigated away the field is simply gone.
                    if ((await locator.count().catch(() => 0)) !== 1) continue;
                    const still = await locator.inputValue({ timeout: 200 }).catch(() => undefined);
                    if (still === value) await locator.fill('', { timeout: 500 }).catch(() => undefined);
                  }
                  if (resume && !controller.signal.aborted)
                    tracing = await startTrace().then(
                      () => true,
                      () => false,
                    );
                }
              },
            };
            const result = await Promise.race([
              bot.run({ page, input: parsed.data, secrets, log, signal: controller.signal, baseUrl: baseUrlOf(bot) }),
              stopped,
            ]);
            const output = bot.output.safeParse(result);
            if (!output.success) {
              const issue = output.error.issues[0]!;
              throw new OperonError(
                'OPERON_ERR_BOT_OUTPUT',
                `Bot '${bot.name}' returned an invalid output field '${issue.path.map(String).join('.') || '(output)'}': ${issue.message}`,
                { details: { bot: bot.name, field: issue.path.map(String).join('.') }, retryable: false },
              );
            }
            if (containsSecret(output.data, secretValues.values())) {
              throw new OperonError(
                'OPERON_ERR_BOT_OUTPUT',
                `Bot '${bot.name}' tried to return a secret value as output`,
                { details: { bot: bot.name }, retryable: false },
              );
            }
            record('succeeded');
            return output.data as Variables;
          } catch (caught) {
            const reason = controller.signal.aborted ? controller.signal.reason : caught;
            if (isBpmnError(caught) && !controller.signal.aborted) {
              record('business_error', {
                errorCode: (caught as BpmnError).errorCode,
                errorMessage: mask((caught as Error).message),
              });
              throw caught;
            }
            if (controller.signal.aborted && !(reason instanceof BotTimeout) && !(reason instanceof EgressViolation)) {
              record('aborted', { errorMessage: mask(String((reason as Error)?.message ?? reason)) });
              throw caught;
            }
            await within(egress?.abortPending() ?? Promise.resolve(), 2_000, undefined);
            const artifacts =
              page && context
                ? await saveArtifacts(runDir, page, context, tracing, [...filled, page.locator(PASSWORD_FIELDS)])
                : {};
            tracing = false; // saveArtifacts stopped it (or gave up on it)
            const where = [
              artifacts.screenshotPath && `screenshot: ${artifacts.screenshotPath}`,
              artifacts.tracePath && `trace: ${artifacts.tracePath}`,
            ]
              .filter(Boolean)
              .join(', ');
            const message = (text: string) => mask(`Bot '${bot.name}' ${text}${where ? ` (${where})` : ''}`);
            const navigationBlocked =
              blocked.find((b) => b.navigation) ??
              (reason instanceof EgressViolation ? blocked[blocked.length - 1] : undefined);
            let error: Error;
            let outcome: BotRunOutcome = 'failed';
            if (navigationBlocked) {
              outcome = 'blocked';
              error = new OperonError(
                'OPERON_ERR_BOT_EGRESS_BLOCKED',
                message(`was stopped by the egress policy: ${navigationBlocked.url} (${navigationBlocked.reason})`),
                { details: { bot: bot.name, blocked, ...artifacts }, retryable: false },
              );
            } else if (reason instanceof BotTimeout) {
              outcome = 'timed_out';
              error = new OperonError('OPERON_ERR_NODE_TIMEOUT', message(`did not finish within ${reason.ms} ms`), {
                details: { bot: bot.name, timeoutMs: reason.ms, ...artifacts },
                retryable: true,
              });
            } else if (isOperonError(caught)) {
              error = new OperonError(caught.code, message(caught.message.replace(`Bot '${bot.name}' `, '')), {
                details: { ...caught.details, ...artifacts },
                retryable: caught.retryable,
              });
            } else {
              error = new Error(message(`failed: ${firstLines((caught as Error)?.message ?? String(caught))}`));
            }
            record(outcome, {
              errorCode: isOperonError(error) ? error.code : undefined,
              errorMessage: error.message,
              ...artifacts,
            });
            throw error;
          } finally {
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', onOuterAbort);
            // A trace nobody keeps is discarded before the context closes: closing it while tracing
            // leaves Playwright's temporary folder (playwright-tracing-*) behind, one per run.
            if (context && tracing) await within(context.tracing.stop(), 2_000, undefined);
            if (context) await within(context.close(), 5_000, undefined);
          }
        }, ctx.signal);
      }
    },

    async close() {
      await host.close();
    },
  };
}

/**
 * A fresh context; when the browser died since the last run, relaunch once and try again. Service
 * workers are blocked: their requests would not pass the context's routes (the egress policy).
 */
async function newContext(host: BrowserHost): Promise<BrowserContext> {
  try {
    return await (await host.browser()).newContext({ serviceWorkers: 'block' });
  } catch (error) {
    if (isOperonError(error)) throw error;
    return (await host.browser()).newContext({ serviceWorkers: 'block' });
  }
}

/** Playwright appends a call log; the first lines say what failed, the rest is noise in an incident. */
function firstLines(text: string): string {
  return text.split('\n').slice(0, 3).join(' ').replace(/\s+/g, ' ').trim();
}

/** Settles with `fallback` when `promise` takes longer than `ms` (a hung page must not hang the worker). */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.catch(() => fallback),
    new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Screenshot (secret fields masked) and the trace since the last secret step (without cookies and
 * credentials), in `runDir`, readable by the service user only. Each step is time-boxed.
 */
async function saveArtifacts(
  runDir: string,
  page: Page,
  context: BrowserContext,
  tracing: boolean,
  masked: Locator[],
): Promise<{ screenshotPath?: string; tracePath?: string }> {
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  // mkdir's mode is narrowed by the umask and ignored for a directory that exists already.
  await chmod(runDir, 0o700);
  const out: { screenshotPath?: string; tracePath?: string } = {};
  const screenshotPath = join(runDir, 'screenshot.png');
  // A page stuck in its own script (an endless loop, a memory bomb) cannot paint: a screenshot would
  // only wait out its timeout while the page kept running (and allocating) past the job's timeout.
  const responsive = await within(
    page.evaluate('1').then(() => true),
    500,
    false,
  );
  const screenshot = responsive
    ? await within(
        page.screenshot({ mask: masked, maskColor: '#000000', timeout: 3_000, animations: 'disabled' }),
        3_500,
        undefined,
      )
    : undefined;
  if (screenshot) {
    await writeFile(screenshotPath, screenshot, { mode: 0o600 });
    out.screenshotPath = screenshotPath;
  }
  const tracePath = join(runDir, 'trace.zip');
  if (
    tracing &&
    (await within(
      context.tracing.stop({ path: tracePath }).then(() => true),
      5_000,
      false,
    ))
  ) {
    if (
      await scrubTrace(tracePath).then(
        () => true,
        () => false,
      )
    )
      out.tracePath = tracePath;
  }
  if (!out.screenshotPath && !out.tracePath) await rm(runDir, { recursive: true, force: true });
  return out;
}

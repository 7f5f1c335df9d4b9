/**
 * A bot: a named TypeScript module that operates one web application with Playwright, with zod
 * schemas for what it needs and what it returns. Bound in BPMN as `zeebe:taskDefinition type="bot:<name>"`.
 */
import type { Locator, Page } from 'playwright-core';
import type { z } from 'zod';

/** Structured log of a bot run; secret values are masked before anything is written. */
export interface BotLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Inside `secrets.use(...)`: fill a field with a secret, or read one (never return or log it). */
export interface SecretScope {
  /** Fills `locator` with the named secret; the field is masked in any failure screenshot. */
  fill(locator: Locator, name: string): Promise<void>;
  /** The raw value, for the rare step that cannot use `fill` (an API header). */
  value(name: string): string;
}

/**
 * The declared secrets of a bot. Values are only reachable inside `use`, during which the Playwright
 * trace is paused, so neither typed values nor the submitted form appear in a trace. Put the whole
 * sign-in (fill, submit, wait for the next page) inside one `use`.
 */
export interface BotSecrets {
  use<T>(step: (scope: SecretScope) => Promise<T>): Promise<T>;
}

/** What `run` gets. */
export interface BotRunContext<I> {
  /** A fresh page in a fresh browser context (no cookies from other jobs). */
  page: Page;
  /** The validated input. */
  input: I;
  secrets: BotSecrets;
  log: BotLog;
  /** Aborted on timeout, cancellation and shutdown; the runner also closes the context then. */
  signal: AbortSignal;
  /** Base URL of the application(s): node option `urls[name]`, then `baseUrl`, env `url.env`, DEMO_APPS_URL, `url.default` (never a task header). */
  baseUrl: string;
}

export interface BotDefinition<I = any, O = any> {
  /** Registered name; bound in BPMN as `zeebe:taskDefinition type="bot:<name>"`. */
  name: string;
  /** One line for docs and the cockpit. */
  description?: string;
  input: z.ZodType<I>;
  output: z.ZodType<O>;
  /** Names of the secrets the bot uses, resolved at run time (never from process variables). */
  secrets?: readonly string[];
  /** Where the application lives when the node is not told (`env` variable name, then `default`). */
  url?: { env?: string; default?: string };
  run(context: BotRunContext<I>): Promise<O>;
}

const BOT_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Declares a bot. Input is validated before a browser context is created; output is validated
 * before it becomes process variables.
 *
 * @example
 * export const creditBureauBot = defineBot({
 *   name: 'credit-bureau',
 *   input: z.object({ applicantName: z.string() }),
 *   output: z.object({ creditScore: z.number() }),
 *   secrets: ['CREDIT_BUREAU_USER', 'CREDIT_BUREAU_PASSWORD'],
 *   async run({ page, input, secrets, baseUrl }) { ... },
 * });
 */
export function defineBot<I, O>(definition: BotDefinition<I, O>): BotDefinition<I, O> {
  if (!BOT_NAME.test(definition.name))
    throw new TypeError(`Bot name '${definition.name}' must be lower-case letters, digits and dashes`);
  return Object.freeze({ ...definition, secrets: Object.freeze([...(definition.secrets ?? [])]) });
}

/**
 * Bot nodes: Playwright bots that operate web applications. See docs/bots.md.
 *
 * - `defineBot` declares a bot (zod input/output, secrets by name, `run({ page, input, secrets, log, signal, baseUrl })`).
 * - `createBotNode({ bots })` is the `bot` node type that runs every `bot:<name>` task.
 */
export {
  defineBot,
  type BotDefinition,
  type BotRunContext,
  type BotSecrets,
  type SecretScope,
  type BotLog,
} from './define.ts';
export { createBotNode, type BotNodeOptions } from './node.ts';
export {
  createSecretStore,
  parseSecretsFile,
  maskSecrets,
  containsSecret,
  type SecretStoreOptions,
} from './secrets.ts';
export { checkEgress, hostsOf, type BlockedRequest } from './egress.ts';
export { discoverChromium, CHROMIUM_ARGS } from './browser.ts';

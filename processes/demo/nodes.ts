/**
 * The bot node for the shipped bots, pointed at the demo applications: what `operon start`,
 * `operon demo` and the e2e tests run. Real credentials come from the environment
 * (`OPERON_SECRET_<NAME>`) or the secrets file; the documented demo credentials fill the gaps.
 */
import type { NodeType } from '../../engine/nodes/types.ts';

export async function shippedBotNode(options: { baseUrl: string; concurrency?: number }): Promise<NodeType> {
  const { createBotNode, createSecretStore } = await import('../../nodes/bot/index.ts');
  const { shippedBots } = await import('../bots/index.ts');
  const { demoSecretDefaults } = await import('../demo-apps/index.ts');
  return createBotNode({
    bots: shippedBots,
    baseUrl: options.baseUrl,
    secrets: createSecretStore({ defaults: demoSecretDefaults }),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
}

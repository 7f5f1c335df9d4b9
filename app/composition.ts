/**
 * The composition root: which nodes, bots, decision models and processes the `operon` command
 * line runs. Everything under engine/ is generic; this file (outside it) chooses the shipped parts
 * and hands them to the CLI. Its imports are static or literal `import()`s, so tsc checks them and
 * the import-graph test sees them; the literal ones keep heavy parts (onnxruntime behind the
 * decision commands, the demo applications and driver) out of commands that never run them.
 */
import { fileURLToPath } from 'node:url';
import type { Composition } from '../engine/cli/composition.ts';
import { createNodeRegistry } from '../nodes/index.ts';
import { shippedBotNode } from '../processes/demo/nodes.ts';

export const shippedComposition: Composition = {
  processesDir: fileURLToPath(new URL('../processes/', import.meta.url)),
  async nodes({ db, shipped, decisionDeployCheck }) {
    if (!shipped) return createNodeRegistry();
    const bots = await shippedBotNode({
      baseUrl: shipped.demoAppsUrl,
      ...(shipped.botConcurrency ? { concurrency: shipped.botConcurrency } : {}),
    });
    return createNodeRegistry({
      decision: { db, ...(decisionDeployCheck ? { deployCheck: decisionDeployCheck } : {}) },
      extra: [bots],
    });
  },
  async startDemoApps(options) {
    const { startDemoApps } = await import('../processes/demo-apps/index.ts');
    return startDemoApps(options);
  },
  async demo(options) {
    const { runDemo } = await import('../processes/demo/run.ts');
    const { formatSummary } = await import('../processes/demo/summary.ts');
    const result = await runDemo(options);
    return formatSummary(result.summary, result.seconds);
  },
  async decisionCli(argv, options) {
    const { runDecisionCli } = await import('../nodes/decision/cli.ts');
    return runDecisionCli(argv, options);
  },
};

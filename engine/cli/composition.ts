/**
 * What the command line runs that is not the engine: the node types (and the bots and decision
 * models behind them), the demo applications, the demo driver and the decision model commands.
 * The composition root outside engine/ (app/composition.ts) provides it to `runCli`, so nothing
 * under engine/ imports nodes/ or processes/ (test/architecture/import-graph.test.ts checks it).
 */
import type { Knex } from 'knex';
import type { NodeRegistry } from '../nodes/registry.ts';

export interface DemoAppsServer {
  /** Server root, e.g. `http://127.0.0.1:3100` (the bot node's `baseUrl`). */
  baseUrl: string;
  close(): Promise<void>;
}

export interface Composition {
  /** The shipped .bpmn/.dmn folder `start` deploys when the working directory has no processes/. */
  processesDir: string;
  /**
   * The node registry of a command's engine: `noop`, `fail` and `http`; with `shipped`, also the
   * decision models and the shipped bots pointed at `demoAppsUrl` (what deployments of `bot:` and
   * `decision:` tasks are checked against). `db`: where the decision node reads its active heads.
   * `decisionDeployCheck: 'files'` checks `decision:` tasks against the models' files without loading
   * them (commands that deploy and exit).
   */
  nodes(options: {
    db: Knex;
    shipped?: { demoAppsUrl: string; botConcurrency?: number };
    decisionDeployCheck?: 'load' | 'files';
  }): Promise<NodeRegistry>;
  /** The demo applications the shipped bots drive. */
  startDemoApps(options: { port: number }): Promise<DemoAppsServer>;
  /** Drives `count` loan applications and orders through a running server; returns the printed summary. */
  demo(options: {
    apiUrl: string;
    token: string;
    count: number;
    timeoutS: number;
    botRunsByOutcome?: () => Promise<Record<string, number> | undefined>;
  }): Promise<string>;
  /** `operon decide` and `operon model ...` (nodes/decision/cli.ts). */
  decisionCli(argv: string[], options?: { databaseUrl?: string }): Promise<number>;
}

let installed: Composition | undefined;

/** Sets what the commands run (`runCli` does it first). */
export function installComposition(composition: Composition): void {
  installed = composition;
}

export function composition(): Composition {
  if (!installed) throw new Error('No composition installed: start the CLI through app/main.ts (bin/operon.js)');
  return installed;
}

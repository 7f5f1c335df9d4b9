import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { DeploymentResult, Engine } from '../../api.ts';
import { openContext } from '../context.ts';
import type { ParsedArgs } from '../args.ts';

/** Reads and deploys BPMN and DMN files in one deployment (all or nothing). */
export async function deployFiles(engine: Engine, paths: string[]): Promise<DeploymentResult> {
  const files = await Promise.all(
    paths.map(async (path) => ({ name: basename(path), xml: await readFile(path, 'utf8') })),
  );
  const { cliActor } = await import('./compliance.ts');
  return engine.deploy(files, { actor: cliActor() });
}

/** `operon deploy FILE...` */
export async function deployCommand(args: ParsedArgs): Promise<number> {
  if (args.positionals.length === 0) throw new Error('usage: operon deploy FILE.bpmn|FILE.dmn...');
  // Deployments are checked against the shipped nodes without loading the decision models (seconds):
  // the engines that run them load them.
  const context = await openContext({
    logLevel: 'warn',
    shippedNodes: true,
    decisionDeployCheck: 'files',
  });
  try {
    const result = await deployFiles(context.engine, args.positionals);
    if (args.flags.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      for (const process of result.processes) {
        console.log(
          `${process.bpmnProcessId} version ${process.version}${process.created ? '' : ' (unchanged)'}  ${process.definitionId}`,
        );
      }
      for (const decision of result.decisions) {
        console.log(
          `decision ${decision.decisionId} version ${decision.version}${decision.created ? '' : ' (unchanged)'}  ${decision.decisionDefinitionId}`,
        );
      }
      for (const warning of result.warnings) console.log(`warning: ${warning}`);
    }
    return 0;
  } finally {
    await context.close();
  }
}

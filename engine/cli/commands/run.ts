import { existsSync } from 'node:fs';
import type { Variables } from '../../nodes/types.ts';
import { openContext } from '../context.ts';
import { numberFlag, stringFlag, type ParsedArgs } from '../args.ts';
import { deployFiles } from './deploy.ts';
import { runUntilRest } from '../run-until-rest.ts';

/**
 * `operon run FILE.bpmn|PROCESS_ID [--vars JSON] [--timeout S] [--json]`: deploys a file, starts one
 * instance, lets the in-process workers run it until it ends or only waits on people, messages or
 * timers beyond the timeout, and prints the outcome.
 */
export async function runCommand(args: ParsedArgs): Promise<number> {
  const target = args.positionals[0];
  if (!target) throw new Error('usage: operon run FILE.bpmn|PROCESS_ID [--vars JSON] [--timeout S] [--json]');
  const varsText = stringFlag(args, 'vars');
  let variables: Variables = {};
  if (varsText !== undefined) {
    try {
      variables = JSON.parse(varsText) as Variables;
    } catch {
      throw new Error(`--vars is not valid JSON: ${varsText}`);
    }
    if (typeof variables !== 'object' || variables === null || Array.isArray(variables))
      throw new Error('--vars must be a JSON object');
  }
  const timeoutMs = numberFlag(args, 'timeout', 30) * 1000;
  const context = await openContext({
    logLevel: 'warn',
    shippedNodes: true,
    worker: { concurrency: 8, lockMs: 30_000, pollIntervalMs: 200 },
  });
  try {
    let bpmnProcessId = target;
    if (target.endsWith('.bpmn') || target.endsWith('.xml') || existsSync(target)) {
      const deployment = await deployFiles(context.engine, [target]);
      // A file may hold several processes (collaborations): run the first one a person could start.
      const startable = [];
      for (const process of deployment.processes) {
        const graph = await context.engine.graphs.get(context.db, process.definitionId);
        if (graph.startEvents.some((start) => start.kind === 'none')) startable.push(process);
      }
      bpmnProcessId = (startable[0] ?? deployment.processes[0]!).bpmnProcessId;
      for (const warning of deployment.warnings) context.logger.warn(warning);
    }
    const { cliActor } = await import('./compliance.ts');
    const { instanceId } = await context.engine.startInstance(bpmnProcessId, variables, { actor: cliActor() });
    const instance = await runUntilRest(context.engine, instanceId, timeoutMs);
    const outcome = {
      instanceId: instance.instanceId,
      state: instance.state,
      variables: instance.variables,
      elements: instance.elements.map((element) => ({
        elementId: element.elementId,
        elementType: element.elementType,
        state: element.state,
      })),
      incidents: instance.incidents,
    };
    if (args.flags.json) {
      console.log(JSON.stringify(outcome, null, 2));
    } else {
      console.log(`instance ${outcome.instanceId}: ${outcome.state}`);
      console.log(`variables: ${JSON.stringify(outcome.variables)}`);
      for (const element of outcome.elements)
        console.log(`  ${element.elementId} (${element.elementType}) ${element.state}`);
      for (const incident of outcome.incidents)
        console.log(`  incident ${incident.code} at ${incident.elementId}: ${incident.message} [${incident.state}]`);
    }
    return 0;
  } finally {
    await context.close();
  }
}

import type { InstanceState } from '../../runtime/contract.ts';
import { openContext } from '../context.ts';
import { numberFlag, stringFlag, type ParsedArgs } from '../args.ts';

/** `operon instances [--process ID] [--state active|completed|terminated] [--limit N] [--json]` */
export async function instancesCommand(args: ParsedArgs): Promise<number> {
  const context = await openContext({ logLevel: 'warn' });
  try {
    const instances = await context.engine.listInstances({
      bpmnProcessId: stringFlag(args, 'process'),
      state: stringFlag(args, 'state') as InstanceState | undefined,
      limit: numberFlag(args, 'limit', 50),
    });
    if (args.flags.json) {
      console.log(
        JSON.stringify(
          instances.map(({ elements, ...instance }) => ({
            ...instance,
            activeElements: elements.filter((e) => e.state === 'active').map((e) => e.elementId),
          })),
          null,
          2,
        ),
      );
      return 0;
    }
    for (const instance of instances) {
      const active = instance.elements
        .filter((element) => element.state === 'active')
        .map((element) => element.elementId);
      const incidents = instance.incidents.filter((incident) => incident.state === 'open').length;
      console.log(
        [
          instance.instanceId,
          `${instance.bpmnProcessId}@${instance.version}`,
          instance.state,
          instance.startedAt,
          active.length ? `at ${active.join(',')}` : '',
          incidents ? `${incidents} open incident(s)` : '',
        ]
          .filter(Boolean)
          .join('  '),
      );
    }
    if (instances.length === 0) console.log('no instances');
    return 0;
  } finally {
    await context.close();
  }
}

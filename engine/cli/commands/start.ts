import { numberFlag, stringFlag, type ParsedArgs } from '../args.ts';
import { untilSignal } from '../signals.ts';
import { capacityFlags } from '../capacity.ts';
import { SAMPLE_APPLICATION, startStack, type Stack } from '../stack.ts';

/** Longest a stop may take after the first Ctrl-C (workers wait up to 5 s for their nodes). */
const SHUTDOWN_LIMIT_MS = 20_000;

/**
 * `operon start`: demo applications, database (embedded unless DATABASE_URL), migrations, the
 * processes deployed (./processes, else the shipped ones) with their webhooks, the HTTP API and
 * workers with the decision and bot nodes. `operon serve`: the API only (workers run elsewhere).
 */
export async function startCommand(args: ParsedArgs, mode: 'start' | 'serve'): Promise<number> {
  const port = numberFlag(args, 'port', Number(process.env.PORT ?? 3000));
  const { worker, botContexts } = capacityFlags(args);
  const stack = await startStack({
    port,
    host: process.env.HOST ?? '0.0.0.0',
    demoAppsPort: numberFlag(args, 'demo-port', Number(process.env.DEMO_APPS_PORT ?? 3100)),
    worker: mode === 'start' && !args.flags['no-worker'] ? worker : false,
    botConcurrency: botContexts,
    deploy: mode === 'start' && !args.flags['no-deploy'],
    processesDir: stringFlag(args, 'processes'),
  });
  try {
    process.stdout.write(startBanner(stack));
    stack.context.logger.info(
      { database: stack.context.url.replace(/:[^:@/]+@/, ':***@') },
      `operon ${mode} running; Ctrl-C stops it`,
    );
    const signal = await untilSignal();
    process.stderr.write(`\n${signal}: stopping (workers hand their jobs back); Ctrl-C again quits at once\n`);
    // Whatever part of the shutdown hangs, the process still ends.
    setTimeout(() => {
      process.stderr.write(`still stopping after ${SHUTDOWN_LIMIT_MS / 1000} s: quitting\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }, SHUTDOWN_LIMIT_MS).unref();
    return 0;
  } finally {
    await stack.close();
  }
}

/** Where everything is, and a curl that starts a loan application. */
export function startBanner(stack: Stack): string {
  const db = stack.context.url.replace(/:[^:@/]+@/, ':***@');
  const deployed = stack.deployed
    .map((d) =>
      d.error
        ? `${d.file} (NOT deployed: ${d.error.split('\n')[0]})`
        : [
            ...d.processes.map((p) => `${p.bpmnProcessId} v${p.version}`),
            ...(d.decisions ?? []).map((decision) => `${decision.decisionId} v${decision.version} (DMN)`),
          ].join(', '),
    )
    .filter((text) => text !== '')
    .join('; ');
  const hooks = stack.webhooks
    .map((w) => `${w.bpmnProcessId}: ${w.mode}${w.kept ? ' (as configured before)' : ''}`)
    .join(', ');
  const lines = [
    '',
    'Operon is running.',
    `  API            ${stack.apiUrl}   (OpenAPI: ${stack.apiUrl}/openapi.json)`,
    `  API token      ${stack.apiToken}${stack.tokenGenerated ? '   (generated, shown once; set OPERON_API_TOKEN to choose one)' : '   (from OPERON_API_TOKEN)'}`,
    `  Cockpit        ${stack.apiUrl}/ui`,
    `  Demo apps      ${stack.demoAppsUrl ?? 'not available'}`,
    `  Database       ${db}   (psql "$(npx operon db-url)")`,
    `  Processes      ${deployed || 'none'}`,
    `  Webhooks       ${hooks || 'none configured'}`,
    '',
  ];
  const loan = stack.deployed.some((d) => d.processes.some((p) => p.bpmnProcessId === 'loan-approval'));
  const open = stack.webhooks.some((w) => w.bpmnProcessId === 'loan-approval' && w.mode === 'open');
  if (loan && open) {
    lines.push(
      'Start a loan application:',
      `curl -s -X POST ${stack.apiUrl}/webhooks/loan-approval -H 'Content-Type: application/json' -d '${JSON.stringify(SAMPLE_APPLICATION)}'`,
      '',
      'Then watch it:',
      `  psql "$(npx operon db-url)" -c "SELECT id, bpmn_process_id, state, active_elements FROM instance_overview"`,
      `  curl -s "${stack.apiUrl}/api/tasks?state=open" -H "Authorization: Bearer ${stack.apiToken}"`,
      '',
    );
  } else if (loan) {
    lines.push('The loan-approval webhook is signed: send Standard Webhooks signatures (docs/http.md#webhooks).', '');
  }
  lines.push('Ctrl-C stops everything.', '');
  return lines.join('\n');
}

import { numberFlag, stringFlag, type ParsedArgs } from '../args.ts';
import { startStack } from '../stack.ts';
import { untilSignal } from '../signals.ts';
import { composition } from '../composition.ts';
import { capacityFlags } from '../capacity.ts';

/**
 * `operon demo [--count N] [--url URL --token T]`: 100 loan applications and 100 orders through
 * the shipped processes, with a scripted clerk and carrier, then a summary. Against a running
 * server with --url (and --token or OPERON_API_TOKEN); otherwise it starts its own, like `start`.
 */
export async function demoCommand(args: ParsedArgs): Promise<number> {
  const { demo } = composition();
  const count = numberFlag(args, 'count', 100);
  const timeoutS = numberFlag(args, 'timeout', 900);
  const url = stringFlag(args, 'url') ?? process.env.OPERON_URL;
  if (url) {
    const token = stringFlag(args, 'token') ?? process.env.OPERON_API_TOKEN;
    if (!token) throw new Error('--url needs --token (or OPERON_API_TOKEN)');
    process.stdout.write(await demo({ apiUrl: url.replace(/\/$/, ''), token, count, timeoutS }));
    return 0;
  }
  const { worker, botContexts } = capacityFlags(args, { botFlag: 'bot-concurrency' });
  const stack = await startStack({
    port: numberFlag(args, 'port', 0),
    host: '127.0.0.1',
    demoAppsPort: numberFlag(args, 'demo-port', 0),
    worker,
    deploy: true,
    processesDir: stringFlag(args, 'processes'),
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    // Bots get the contexts this machine can drive; decisions and built-ins have slots of their own.
    botConcurrency: botContexts,
  });
  // Ctrl-C or SIGTERM mid-run: stop the workers and the database before leaving.
  void untilSignal().then(async (signal) => {
    process.stderr.write(`\n${signal}: stopping the demo\n`);
    const code = signal === 'SIGINT' ? 130 : 143;
    // A browser killed by the same signal can leave a node's close() waiting: leave after 10 s regardless.
    setTimeout(() => process.exit(code), 10_000).unref();
    await stack.close().catch(() => undefined);
    process.exit(code);
  });
  try {
    process.stderr.write(
      `Operon for the demo: ${stack.apiUrl} (cockpit ${stack.apiUrl}/ui, token ${stack.apiToken})\n`,
    );
    const botRunsByOutcome = async () => {
      const rows = (await stack.context
        .db('bot_runs')
        .select('outcome')
        .count({ runs: '*' })
        .groupBy('outcome')
        .catch(() => undefined)) as { outcome: string; runs: string }[] | undefined;
      return rows ? Object.fromEntries(rows.map((r) => [r.outcome, Number(r.runs)])) : undefined;
    };
    process.stdout.write(
      await demo({ apiUrl: stack.apiUrl, token: stack.apiToken, count, timeoutS, botRunsByOutcome }),
    );
    return 0;
  } finally {
    await stack.close();
  }
}

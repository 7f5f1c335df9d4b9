/**
 * The `operon` command line. app/main.ts runs it with the shipped composition (nodes, bots,
 * processes); bin/operon.js loads that through tsx.
 *
 *   operon start | demo | serve | worker | migrate | deploy FILE... | instances | db-url | api-key
 *   operon run FILE.bpmn|PROCESS_ID [--vars JSON] [--timeout S] [--json]
 *   operon decide MODEL --vars JSON [--json]   operon model ...
 *   operon audit verify | erase --business-key K | evidence INSTANCE_ID
 */
import { isOperonError } from '../errors.ts';
import { parseArgs } from './args.ts';
import { composition, installComposition, type Composition } from './composition.ts';

const USAGE = `usage: operon <command>

  start                      database, migrations, deploy processes/, demo apps, HTTP API, workers
  demo [--count N] [--url URL --token T]
                             100 loan applications and orders through the shipped processes, with a summary
  serve                      HTTP API only
  worker                     run node types and timers against the database
  migrate                    apply database migrations
  deploy FILE...             deploy BPMN files
  run FILE.bpmn|PROCESS_ID [--vars JSON] [--timeout S] [--json]
                             start one instance and run it until it ends or waits
  instances [--process ID] [--state S] [--json]
  db-url                     print the database connection string (for psql)
  api-key create --role R[,R] [--task-types a,b] [--name N] | list | revoke ID
                             API keys for machines (docs/security.md); the key is printed once
  decide MODEL --vars JSON [--json]
  model ...                  decision model tools
  audit verify [--json]      check the audit chain; names the first broken row (exit 1)
  erase --business-key K [--json]
                             erase a data subject's data from ended instances (keeps the audit skeleton)
  evidence INSTANCE_ID       an instance's evidence (start, decisions, reviews, bot runs, audit rows) as JSON

DATABASE_URL selects the database; without it an embedded PostgreSQL runs under .operon/.
decide and model take --database-url, else OPERON_DATABASE_URL, else DATABASE_URL; decide needs none.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest);
  switch (command) {
    case 'migrate':
      return (await import('./commands/migrate.ts')).migrateCommand();
    case 'deploy':
      return (await import('./commands/deploy.ts')).deployCommand(args);
    case 'run':
      return (await import('./commands/run.ts')).runCommand(args);
    case 'instances':
      return (await import('./commands/instances.ts')).instancesCommand(args);
    case 'worker':
      return (await import('./commands/worker.ts')).workerCommand(args);
    case 'api-key':
      return (await import('./commands/api-key.ts')).apiKeyCommand(args);
    case 'db-url':
      return (await import('./commands/db-url.ts')).dbUrlCommand();
    case 'demo':
      return (await import('./commands/demo.ts')).demoCommand(args);
    case 'start':
    case 'serve':
      return (await import('./commands/start.ts')).startCommand(args, command);
    case 'audit':
      return (await import('./commands/compliance.ts')).auditCommand(args);
    case 'erase':
      return (await import('./commands/compliance.ts')).eraseCommand(args);
    case 'evidence':
      return (await import('./commands/compliance.ts')).evidenceCommand(args);
    case 'decide':
    case 'model':
      return decisionCli(command, rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`unknown command '${command}'\n\n${USAGE}`);
      return 1;
  }
}

/**
 * `decide` and `model` belong to nodes/decision. Their database is the first of `--database-url`,
 * OPERON_DATABASE_URL and DATABASE_URL. `decide` without one only runs the model (no server is
 * started, so it answers in about a second); `model` commands without one use the embedded server.
 */
async function decisionCli(command: string, rest: string[]): Promise<number> {
  const runDecisionCli = composition().decisionCli;
  const named =
    optionValue(rest, '--database-url') ??
    (process.env.OPERON_DATABASE_URL || undefined) ??
    (process.env.DATABASE_URL || undefined);
  if (!named && command === 'decide') return runDecisionCli([command, ...rest]);
  const { openDatabase } = await import('../db/database.ts');
  const { createKnex, migrateLatest } = await import('../store/knex.ts');
  const database = named ? { url: named, stop: async () => undefined } : await openDatabase();
  try {
    const db = createKnex(database.url, { poolMax: 1 });
    await migrateLatest(db).finally(() => db.destroy());
    return await runDecisionCli([command, ...rest], { databaseUrl: database.url });
  } finally {
    await database.stop();
  }
}

/** The value of `--name VALUE` or `--name=VALUE` in argv, if given. */
function optionValue(argv: string[], name: string): string | undefined {
  const index = argv.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (index < 0) return undefined;
  return argv[index]!.includes('=') ? argv[index]!.slice(name.length + 1) : argv[index + 1];
}

/** Exits once stdout has flushed (a pipe is asynchronous: a large --json document would be cut short). */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

/** Runs one command with `parts` (the composition root's nodes, bots and processes) and exits. */
export function runCli(argv: string[], parts: Composition): void {
  installComposition(parts);
  main(argv).then(
    (code) => exit(code),
    (error: unknown) => {
      if (isOperonError(error)) {
        console.error(
          `error ${error.code}: ${error.message}${Object.keys(error.details).length ? ` ${JSON.stringify(error.details)}` : ''}`,
        );
      } else {
        console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      }
      exit(1);
    },
  );
}

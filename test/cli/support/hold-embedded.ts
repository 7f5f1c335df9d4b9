/**
 * A short command's use of the embedded database, held open: starts (or joins) it under the folder
 * given, prints `up`, and waits. embedded-stop.test interrupts it as Ctrl-C would a command that
 * does not handle signals itself (`operon run`, `deploy`, `instances`, ...).
 */
import { startEmbeddedPostgres } from '../../../engine/db/embedded.ts';

await startEmbeddedPostgres({ dir: process.argv[2]! });
process.stdout.write('up\n');
setInterval(() => undefined, 1_000);

import {
  DEFAULT_DIR,
  embeddedUrl,
  freePort,
  newEmbeddedConfig,
  readEmbeddedConfig,
  runningEmbeddedServer,
  writeEmbeddedConfig,
} from '../../db/embedded-state.ts';

/**
 * `operon db-url`: the connection string for psql. With DATABASE_URL set, that. Otherwise the embedded
 * server's, read from its files under .operon/ (never started here): while it runs, with the port it
 * listens on; when it does not run, the one it will have, and a line on stderr saying it is not running.
 * A working directory without one gets its settings now (a free port, a random password), so the
 * URL printed is the one the next command that starts it uses (if that port is still free then).
 */
export async function dbUrlCommand(): Promise<number> {
  if (process.env.DATABASE_URL) {
    console.log(process.env.DATABASE_URL);
    return 0;
  }
  let config = await readEmbeddedConfig(DEFAULT_DIR);
  if (!config) {
    config = { ...newEmbeddedConfig(), port: await freePort() };
    await writeEmbeddedConfig(DEFAULT_DIR, config);
  }
  const server = await runningEmbeddedServer(DEFAULT_DIR);
  console.log(embeddedUrl(server ? { ...config, port: server.port } : config));
  if (!server) {
    console.error(
      `operon: the embedded PostgreSQL under ${DEFAULT_DIR}/ is not running; \`operon start\` (or serve, worker, migrate) starts it`,
    );
  }
  return 0;
}

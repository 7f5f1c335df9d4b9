/**
 * The real API server for tests that treat it from outside: a free port, and `operon serve` as its
 * own process, ready once /healthz answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../engine/support/harness.ts';

const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface OperonServer {
  child: ChildProcess;
  exited: Promise<void>;
  /** The last 4,000 characters it wrote to stderr. */
  stderr: () => string;
}

/** `operon serve` on `port` against `databaseUrl` with API token `token`; resolves once /healthz answers 200. */
export async function startOperonServer(databaseUrl: string, port: number, token: string): Promise<OperonServer> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      DEMO_APPS_PORT: '0',
      OPERON_API_TOKEN: token,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(
    async () => {
      if (gone) throw new Error(`operon serve exited before it answered: ${stderr}`);
      return fetch(`http://127.0.0.1:${port}/healthz`).then(
        (response) => response.ok,
        () => false,
      );
    },
    120_000,
    'operon serve to answer /healthz',
  );
  return { child, exited, stderr: () => stderr };
}

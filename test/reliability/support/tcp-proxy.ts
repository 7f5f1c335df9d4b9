/**
 * A TCP proxy in front of PostgreSQL that a test controls: `cut()` makes the network go silent
 * (nothing is refused or reset: bytes in both directions are held back, new connections are
 * accepted and never answered), `heal()` delivers what was held back and forwards again. This is
 * the outage a firewall drop or a partition causes, which a stopped server does not.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Open connections (each a client socket and its upstream). */
  readonly connections: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
  /** Held back while cut: toward the server, toward the client. */
  up: Buffer[];
  down: Buffer[];
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let silent = false;
  const pairs = new Set<Pair>();

  const forward = (pair: Pair) => {
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => (silent ? pair.down.push(chunk) : pair.client.write(chunk)));
    upstream.on('error', () => pair.client.destroy());
    upstream.on('close', () => pair.client.destroy());
    for (const chunk of pair.up.splice(0)) upstream.write(chunk);
  };

  const server: Server = createServer((client) => {
    const pair: Pair = { client, up: [], down: [] };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => (silent || !pair.upstream ? pair.up.push(chunk) : pair.upstream.write(chunk)));
    client.on('error', () => pair.upstream?.destroy());
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (!silent) forward(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    get connections() {
      return pairs.size;
    },
    cut() {
      silent = true;
    },
    heal() {
      silent = false;
      for (const pair of pairs) {
        if (!pair.upstream) {
          forward(pair);
          continue;
        }
        for (const chunk of pair.up.splice(0)) pair.upstream.write(chunk);
        for (const chunk of pair.down.splice(0)) pair.client.write(chunk);
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The demo web applications the shipped bots operate: a credit bureau portal, a core-banking back
 * office, a carrier booking portal and a warehouse stock screen, served by one HTTP server under
 * `/credit-bureau`, `/core-banking`, `/carrier` and `/warehouse`.
 *
 * Sign-in credentials are secrets by name (`OPERON_SECRET_<NAME>`, see docs/shipped-bots.md) with
 * documented demo defaults, so the apps and the bots agree without configuration.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { creditBureauApp } from './credit-bureau.ts';
import { coreBankingApp, type RecordedDecision } from './core-banking.ts';
import { carrierApp, type Booking } from './carrier.ts';
import { warehouseApp } from './warehouse.ts';
import { page } from './html.ts';
import { readRequest, send, type Reply, type Request } from './http.ts';

export { demoSecretDefaults, demoCredential } from './credentials.ts';
export { applicants, stock, WAREHOUSES } from './data.ts';
export type { RecordedDecision, Booking };

/** Default port of `npm run demo-apps` (`DEMO_APPS_PORT`). */
export const DEMO_APPS_PORT = 3100;

/** Path of each app on the server (shipped bots: credit-bureau, core-banking, carrier-booking, warehouse-stock). */
export const DEMO_APP_PATHS = {
  creditBureau: '/credit-bureau',
  coreBanking: '/core-banking',
  carrier: '/carrier',
  warehouse: '/warehouse',
} as const;

export type DemoAppName = keyof typeof DEMO_APP_PATHS;

export interface DemoApps {
  /** Server root, e.g. `http://127.0.0.1:3100` (the bot node's `baseUrl`). */
  baseUrl: string;
  /** Start page of each app. */
  urls: Record<DemoAppName, string>;
  /** What the bots entered (recorded decisions, booked shipments), for demos and tests. */
  state: { decisions: RecordedDecision[]; bookings: Booking[] };
  close(): Promise<void>;
}

/** Starts the four apps on one server (default port 3100, `port: 0` picks a free one; host 127.0.0.1). */
export async function startDemoApps(options: { port?: number; host?: string } = {}): Promise<DemoApps> {
  const state = { decisions: [] as RecordedDecision[], bookings: [] as Booking[] };
  const apps: [string, (req: Request) => Promise<Reply>][] = [
    [DEMO_APP_PATHS.creditBureau, creditBureauApp(DEMO_APP_PATHS.creditBureau)],
    [DEMO_APP_PATHS.coreBanking, coreBankingApp(DEMO_APP_PATHS.coreBanking, state.decisions)],
    [DEMO_APP_PATHS.carrier, carrierApp(DEMO_APP_PATHS.carrier, state.bookings)],
    [DEMO_APP_PATHS.warehouse, warehouseApp(DEMO_APP_PATHS.warehouse)],
  ];
  const server = createServer(async (raw, res) => {
    try {
      const path = new URL(raw.url ?? '/', 'http://demo.invalid').pathname;
      const app = apps.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
      if (!app) {
        const links = apps.map(([prefix]) => `<li><a href="${prefix}/">${prefix.slice(1)}</a></li>`).join('');
        return send(res, {
          status: path === '/' ? 200 : 404,
          html: page('Operon demo applications', 'Operon demo', `<ul>${links}</ul>`),
        });
      }
      send(res, await app[1](await readRequest(raw, app[0])));
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : 'error');
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? Number(process.env.DEMO_APPS_PORT ?? DEMO_APPS_PORT), host, () => resolve());
  });
  const baseUrl = `http://${host}:${(server.address() as AddressInfo).port}`;
  const urls = Object.fromEntries(
    Object.entries(DEMO_APP_PATHS).map(([bot, path]) => [bot, `${baseUrl}${path}/`]),
  ) as Record<DemoAppName, string>;
  return {
    baseUrl,
    urls,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The cockpit and task inbox, served by the API server under /ui without a build step: plain ES
 * modules and CSS from engine/ui/public, the bpmn-js viewer, form-js and preact+htm from their
 * npm packages' prebuilt bundles. The page shell holds no data; every fact comes from /api routes
 * with the same bearer token as any other API client (see docs/ui.md).
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { RouteContext } from '../http/route.ts';
import { uiRoutes } from './routes.ts';

export interface UiOptions {
  /** The API's route context: the UI's extra routes use its token check, database and engine. */
  context: RouteContext;
  /** Folder bot runs keep screenshots and traces in; only files inside it are served. Default OPERON_ARTIFACTS_DIR, else .operon/artifacts. */
  artifactsDir?: string;
  /** Variable of a completed review task that holds the reviewer's label (default `reviewedLabel`). */
  reviewVariable?: string;
}

const require = createRequire(import.meta.url);
const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');

/** The prebuilt browser bundles the UI loads, by URL prefix under /ui/vendor/. */
function vendorDirs(): Record<string, string> {
  const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));
  return {
    'bpmn-js': join(packageDir('bpmn-js'), 'dist'),
    'form-js': join(packageDir('@bpmn-io/form-js'), 'dist'),
    htm: dirname(fileURLToPath(import.meta.resolve('htm/preact/standalone'))),
  };
}

/**
 * The UI runs only its own scripts; bpmn-js and form-js set inline style attributes, hence 'unsafe-inline' for styles.
 * With OpenID sign-in, the browser also talks to the provider: connect-src allows the issuer's origin and, once
 * the discovery document was read, the token endpoint's.
 */
function contentSecurityPolicy(connectTo: string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    ["connect-src 'self'", ...connectTo].join(' '),
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

const originOf = (url: string | undefined): string[] => {
  const parsed = url ? URL.parse(url) : null;
  return parsed && /^https?:$/.test(parsed.protocol) ? [parsed.origin] : [];
};

/** Registers /ui (static cockpit) and the /api/ui/* routes it needs. */
export async function registerUi(app: FastifyInstance, options: UiOptions): Promise<void> {
  uiRoutes(
    { ...options.context, app },
    { artifactsDir: options.artifactsDir, reviewVariable: options.reviewVariable ?? 'reviewedLabel' },
  );

  app.addHook('onListen', async function () {
    const address = this.server.address();
    if (!address || typeof address !== 'object') return;
    const host = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(address.address) ? 'localhost' : address.address;
    this.log.info(
      { url: `http://${host}:${address.port}/ui/` },
      'cockpit and task inbox at /ui (sign in with the API token)',
    );
  });

  const oidc = options.context.access.oidc;
  const providerOrigins = new Set(oidc?.settings.clientId ? originOf(oidc.settings.issuer) : []);
  // The discovery document is fetched once (and again after a failure); a page served before it arrived allows
  // only the issuer's origin.
  const learnTokenEndpoint = () => {
    if (!oidc?.settings.clientId) return;
    oidc
      .metadata()
      .then((metadata) => {
        for (const origin of originOf(metadata.token_endpoint)) providerOrigins.add(origin);
      })
      .catch(() => {});
  };
  learnTokenEndpoint();

  await app.register(async (ui) => {
    // The page shell and its scripts hold no data: anyone may load them (the permission hook in
    // app.ts refuses every route that declares no permission).
    ui.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), permission: 'public' };
    });
    ui.addHook('onSend', async (_request, reply, payload) => {
      learnTokenEndpoint();
      reply.header('content-security-policy', contentSecurityPolicy([...providerOrigins]));
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      return payload;
    });
    ui.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
    await ui.register(fastifyStatic, {
      root: publicDir,
      prefix: '/ui/',
      index: 'index.html',
      wildcard: true,
      cacheControl: false,
    });
    for (const [name, root] of Object.entries(vendorDirs())) {
      await ui.register(fastifyStatic, { root, prefix: `/ui/vendor/${name}/`, decorateReply: false, maxAge: 3600_000 });
    }
  });
}

/** Request plumbing shared by the demo apps: form bodies, cookies, sessions and responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { demoCredential } from './credentials.ts';
import { loginForm } from './html.ts';

export interface Request {
  method: string;
  /** Path inside the app, e.g. `/search`. */
  path: string;
  query: URLSearchParams;
  form: URLSearchParams;
  cookies: Record<string, string>;
}

export type Reply = {
  status?: number;
  html?: string;
  json?: unknown;
  redirect?: string;
  headers?: Record<string, string>;
};

const MAX_BODY = 64 * 1024;

export async function readRequest(raw: IncomingMessage, prefix: string): Promise<Request> {
  const url = new URL(raw.url ?? '/', 'http://demo.invalid');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  const cookies = Object.fromEntries(
    (raw.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim().split('='))
      .filter((p) => p.length === 2) as [string, string][],
  );
  return {
    method: raw.method ?? 'GET',
    path: url.pathname.slice(prefix.length) || '/',
    query: url.searchParams,
    form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
    cookies,
  };
}

export function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
  if (reply.redirect) {
    res.writeHead(reply.status ?? 303, { ...headers, location: reply.redirect });
    res.end();
  } else if (reply.json !== undefined) {
    res.writeHead(reply.status ?? 200, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.json));
  } else {
    res.writeHead(reply.status ?? 200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
    res.end(reply.html ?? '');
  }
}

/**
 * Login with a session cookie scoped to the app's path. The accepted user and password are the
 * secrets `<PREFIX>_USER` / `<PREFIX>_PASSWORD` (`OPERON_SECRET_<NAME>`, else the demo default).
 */
export class Sessions {
  readonly #sessions = new Set<string>();
  readonly cookie: string;

  constructor(
    readonly prefix: string,
    readonly appTitle: string,
    readonly secretPrefix: string,
  ) {
    this.cookie = `sid_${prefix.replace(/\W/g, '')}`;
  }

  authenticated(req: Request): boolean {
    return this.#sessions.has(req.cookies[this.cookie] ?? '');
  }

  /** Handles GET/POST /login; returns undefined for other paths. */
  handleLogin(req: Request, home: string): Reply | undefined {
    if (req.path !== '/login') return undefined;
    if (req.method !== 'POST') return { html: loginForm(`${this.prefix}/login`, this.appTitle) };
    const user = req.form.get('username') ?? '';
    const password = req.form.get('password') ?? '';
    if (
      user !== demoCredential(`${this.secretPrefix}_USER`) ||
      password !== demoCredential(`${this.secretPrefix}_PASSWORD`)
    ) {
      return { status: 401, html: loginForm(`${this.prefix}/login`, this.appTitle, 'Invalid user name or password.') };
    }
    const sid = randomBytes(16).toString('hex');
    this.#sessions.add(sid);
    return {
      redirect: `${this.prefix}${home}`,
      headers: { 'set-cookie': `${this.cookie}=${sid}; Path=${this.prefix}; HttpOnly; SameSite=Lax` },
    };
  }

  requireLogin(): Reply {
    return { redirect: `${this.prefix}/login` };
  }
}

/** Milliseconds the apps make the browser wait before data appears (the bots must wait for elements). */
export const RENDER_DELAY_MS = 150;

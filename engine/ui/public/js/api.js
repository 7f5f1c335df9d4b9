// The API client: every request carries the token the person entered (or the access token of their
// OpenID sign-in, see oidc.js), kept only in sessionStorage.
const TOKEN_KEY = 'operon.apiToken';
const EXPIRES_KEY = 'operon.tokenExpiresAt';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  /** When the token stops working (ms since the epoch), if its issuer said so. */
  expiresAt: () => Number(sessionStorage.getItem(EXPIRES_KEY)) || undefined,
  signIn(token, expiresAt) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (expiresAt) sessionStorage.setItem(EXPIRES_KEY, String(expiresAt));
    else sessionStorage.removeItem(EXPIRES_KEY);
  },
  /** Forgets the token; `reason` (e.g. 'expired') tells the sign-in page why. */
  signOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(EXPIRES_KEY);
    window.dispatchEvent(new CustomEvent('operon:signed-out', { detail: reason }));
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.details = body?.error?.details;
  }
}

async function request(path, { method = 'GET', body, token = session.token() } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && token === session.token()) session.signOut('expired');
  if (!response.ok) {
    const error = await response.json().catch(() => undefined);
    throw new ApiError(response.status, error);
  }
  return response;
}

/** JSON from an /api route. */
export async function api(path, options) {
  const response = await request(path, options);
  return (response.headers.get('content-type') ?? '').includes('json') ? response.json() : response.text();
}

/** A file from an /api route (screenshots, traces): fetched with the token, handed out as a blob. */
export async function apiBlob(path) {
  return (await request(path)).blob();
}

/** Checks a token without signing in with it. */
export async function tokenWorks(token) {
  try {
    await request('/api/me', { token });
    return true;
  } catch (error) {
    if (error.status === 401) return false;
    throw error;
  }
}

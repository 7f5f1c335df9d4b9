// The API client: every request carries the token the person entered, kept only in sessionStorage.
const TOKEN_KEY = 'operon.apiToken';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    window.dispatchEvent(new Event('operon:signed-out'));
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
  if (response.status === 401 && token === session.token()) session.signOut();
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

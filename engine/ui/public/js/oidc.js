// Sign-in through the OpenID provider: authorization code flow with PKCE (S256) as a public client.
// The verifier and state live in sessionStorage only between the redirect out and the redirect back;
// the code is exchanged at the provider's token endpoint from this page, without a client secret.
import { session } from './api.js';

const PENDING_KEY = 'operon.oidc.pending';

/** GET /api/ui/auth-config: { oidc: null } or the provider's endpoints, client id and scopes. */
export async function loadAuthConfig() {
  const response = await fetch('/api/ui/auth-config');
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  return body.oidc;
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const randomString = (size) => base64url(crypto.getRandomValues(new Uint8Array(size)));

/** Where the provider sends the browser back: the cockpit's own page. */
export const redirectUri = () => `${location.origin}/ui/`;

/** Leaves for the provider's login page with a fresh code verifier and state. */
export async function startSignIn(config) {
  if (!crypto.subtle) throw new Error('Sign-in needs a secure page (https, or http on localhost) for PKCE');
  const verifier = randomString(32);
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const state = randomString(16);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, verifier, hash: location.hash }));
  const url = new URL(config.authorizationEndpoint);
  for (const [name, value] of new URLSearchParams(config.authParams ?? '')) url.searchParams.append(name, value);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('scope', config.scopes);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  location.assign(url.toString());
}

/** True when this page is the provider's redirect back (a code or an error in the query). */
export function isSignInAnswer() {
  const query = new URLSearchParams(location.search);
  return query.has('code') || query.has('error');
}

/**
 * Finishes a sign-in on the redirect back: checks state (and iss when sent), exchanges the code with
 * the verifier, and keeps the access token. Throws with a message for the sign-in page otherwise.
 */
export async function completeSignIn(config) {
  const query = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null');
  sessionStorage.removeItem(PENDING_KEY);
  // The code must not stay in the address bar or the history.
  history.replaceState(null, '', `${location.pathname}${pending?.hash ?? ''}`);
  if (!pending || query.get('state') !== pending.state)
    throw new Error('The sign-in answer does not match a sign-in started here (state); sign in again.');
  if (query.has('error'))
    throw new Error(`The identity provider refused: ${query.get('error_description') || query.get('error')}`);
  if (!config) throw new Error('Single sign-on is not configured on this server.');
  if (query.has('iss') && query.get('iss') !== config.issuer)
    throw new Error('The sign-in answer comes from another issuer; sign in again.');
  const response = await fetch(config.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: query.get('code') ?? '',
      redirect_uri: redirectUri(),
      client_id: config.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok || !body?.access_token)
    throw new Error(
      `The identity provider did not issue a token: ${body?.error_description ?? body?.error ?? `HTTP ${response.status}`}`,
    );
  const expiresAt = body.expires_in ? Date.now() + Number(body.expires_in) * 1000 : undefined;
  session.signIn(body.access_token, expiresAt);
}

/**
 * Signing in to the cockpit through a real OpenID provider (oidc-provider on a loopback port, its
 * own login form) in headless Chromium: the cockpit is registered there as a public client (no
 * secret, PKCE required, redirect URI /ui/). Sign in with single sign-on, log in at the provider, land
 * back signed in as that person, see their inbox, and every API call carries the provider's access
 * token; an answer whose state was changed is refused before any code exchange; a token past its
 * lifetime sends the person back to sign-in; the development token still works beside it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { startCockpit, type Cockpit } from './support/cockpit.ts';

const AUDIENCE = 'urn:operon:api';
const CLIENT_ID = 'operon-cockpit';

/** The people the provider knows: their roles and groups go into their access tokens. */
const PEOPLE: Record<string, { roles: string[]; groups: string[] }> = {
  alice: { roles: ['reviewer'], groups: ['credit'] },
};

const INBOX_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Defs_Sso" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="sso-credit-review" name="Credit review" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Check" name="Check the credit file">
      <bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="credit" /></bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Check" />
    <bpmn:sequenceFlow id="F2" sourceRef="Check" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>`;

describe('cockpit sign-in through an OpenID provider (authorization code + PKCE)', () => {
  let idpServer: Server;
  let issuer: string;
  let cockpit: Cockpit;
  let instanceId: string;
  /** Token endpoint requests the browser made (the code exchange). */
  const tokenRequests: string[] = [];

  before(async () => {
    // The provider's port is needed for the cockpit's settings and the cockpit's for the provider's
    // client: the server listens first and answers 503 until the provider exists.
    let handler: ((request: IncomingMessage, response: ServerResponse) => void) | undefined;
    idpServer = createServer((request, response) => {
      if (handler) handler(request, response);
      else response.writeHead(503).end();
    });
    await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;

    cockpit = await startCockpit({
      oidc: {
        issuer,
        audience: AUDIENCE,
        rolesClaim: 'roles',
        groupsClaim: 'groups',
        userClaim: 'preferred_username',
        clientId: CLIENT_ID,
        scopes: 'openid api',
        authParams: `resource=${encodeURIComponent(AUDIENCE)}`,
      },
    });
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [`${cockpit.baseUrl}/ui/`],
        },
      ],
      // The provider's own login form (dev interactions) accepts any password; the login names the account.
      findAccount: (_ctx: unknown, sub: string) =>
        PEOPLE[sub] ? { accountId: sub, claims: () => ({ sub, preferred_username: sub }) } : undefined,
      cookies: { keys: ['operon-test-cookie-key'] },
      features: {
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          getResourceServerInfo: (_ctx: unknown, resource: string) => ({
            audience: resource,
            scope: 'api',
            accessTokenFormat: 'jwt',
            accessTokenTTL: 600,
          }),
          useGrantedResource: () => true,
        },
      },
      extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) => {
        const person = PEOPLE[token.accountId ?? ''];
        return person ? { preferred_username: token.accountId, roles: person.roles, groups: person.groups } : {};
      },
    });
    handler = provider.callback();

    await cockpit.engine.deploy([{ name: 'sso-credit-review.bpmn', xml: INBOX_BPMN }]);
    ({ instanceId } = await cockpit.engine.startInstance('sso-credit-review', {}, { businessKey: 'SSO-1' }));
    cockpit.page.on('request', (request) => {
      if (request.url().startsWith(`${issuer}/token`)) tokenRequests.push(request.postData() ?? '');
    });
  });
  after(async () => {
    await cockpit?.close();
    idpServer?.closeAllConnections();
    idpServer?.close();
  });

  test('the cockpit tells browsers how to sign in, without credentials', async () => {
    const response = await fetch(`${cockpit.baseUrl}/api/ui/auth-config`);
    assert.equal(response.status, 200);
    const { oidc } = (await response.json()) as { oidc: Record<string, string> };
    assert.deepEqual(
      { issuer: oidc.issuer, clientId: oidc.clientId, scopes: oidc.scopes },
      { issuer, clientId: CLIENT_ID, scopes: 'openid api' },
    );
    assert.equal(new URL(oidc.authorizationEndpoint!).origin, issuer);
    assert.equal(new URL(oidc.tokenEndpoint!).origin, issuer);
    const page = await fetch(`${cockpit.baseUrl}/ui/`);
    assert.match(page.headers.get('content-security-policy') ?? '', new RegExp(`connect-src 'self' ${issuer}(;| )`));
  });

  test('sign in at the provider, land back signed in, see the inbox; API calls carry the access token', async () => {
    const { page, baseUrl } = cockpit;
    await page.goto(`${baseUrl}/ui/#/tasks`);
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();

    // The provider's own pages: its login form, then its consent screen.
    await page.waitForURL((url) => url.origin === issuer);
    await page.locator('input[name=login]').fill('alice');
    await page.locator('input[name=password]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();

    // Back in the cockpit, on the page it left, with the code gone from the address bar.
    await page.locator('.signed-in-as', { hasText: 'alice' }).waitFor();
    assert.equal(new URL(page.url()).search, '', 'no code or state left in the URL');
    assert.equal(new URL(page.url()).hash, '#/tasks');
    assert.equal(tokenRequests.length, 1, 'one code exchange');
    const exchange = new URLSearchParams(tokenRequests[0]);
    assert.equal(exchange.get('grant_type'), 'authorization_code');
    assert.equal(exchange.get('client_id'), CLIENT_ID);
    assert.ok(exchange.get('code_verifier')!.length >= 43, 'a PKCE verifier, no client secret');
    assert.equal(exchange.get('client_secret'), null);

    const token = await page.evaluate(() => sessionStorage.getItem('operon.apiToken'));
    assert.ok(token && token.split('.').length === 3, 'a JWT access token');
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(claims.preferred_username, 'alice');

    // A reviewer may not read incidents; the task badge shows anyway.
    assert.equal(await page.locator('[data-count="tasks"]').innerText({ timeout: 15_000 }), '1');

    // Alice is in the credit group: the credit check is in her inbox. Claiming it is an API call
    // carrying her access token, and the engine records her (from the token) as the assignee.
    const apiCall = page.waitForRequest(
      (request) => request.url().includes(`/api/ui/tasks/`) && request.method() === 'POST',
    );
    await page.locator('.task-list li >> text=Check the credit file').click();
    const card = page.locator('article.task');
    await card.getByRole('button', { name: 'Claim' }).click();
    assert.equal((await apiCall).headers().authorization, `Bearer ${token}`);
    await card.locator('.assignee', { hasText: 'alice' }).waitFor();
    const [task] = await cockpit.engine.listUserTasks({ state: 'open', instanceId });
    assert.equal(task!.assignee, 'alice');
    await cockpit.screenshot('cockpit-sso-inbox');
  });

  test('a changed state is refused: no code exchange, not signed in', async () => {
    const { page, baseUrl } = cockpit;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).waitFor();
    assert.equal(
      await page.evaluate(() => sessionStorage.getItem('operon.apiToken')),
      null,
      'sign out forgets the token',
    );

    // The authorization request leaves with another state than the one the page keeps (as a forged
    // answer would come back): the provider echoes it, the cockpit must refuse it.
    await page.route(
      (url) => url.origin === issuer && url.pathname === '/auth',
      async (route) => {
        const url = new URL(route.request().url());
        url.searchParams.set('state', 'forged');
        return route.continue({ url: url.toString() });
      },
    );
    const exchangesBefore = tokenRequests.length;
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    // Alice is still signed in at the provider: it may answer at once, or ask for consent again.
    const refused = page.getByRole('alert').filter({ hasText: 'does not match' });
    const consent = page.getByRole('button', { name: 'Continue' });
    await refused.or(consent).first().waitFor();
    if (await consent.isVisible()) await consent.click();
    await refused.waitFor();
    await page.unrouteAll();
    assert.equal(tokenRequests.length, exchangesBefore, 'the code was not exchanged');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('operon.apiToken')), null);
    assert.equal(new URL(page.url()).search, '', 'the refused answer is gone from the address bar');
    assert.equal(await page.locator('.signed-in-as').count(), 0);
  });

  test('a token past its lifetime sends the person back to sign-in; the development token still works', async () => {
    const { page, baseUrl, token } = cockpit;
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    const consent = page.getByRole('button', { name: 'Continue' });
    const signedIn = page.locator('.signed-in-as', { hasText: 'alice' });
    await signedIn.or(consent).first().waitFor();
    if (await consent.isVisible()) await consent.click();
    await signedIn.waitFor();
    assert.ok(await page.evaluate(() => Number(sessionStorage.getItem('operon.tokenExpiresAt')) > Date.now()));

    // The provider said how long the token lives; the cockpit signs out when that time comes.
    await page.evaluate(() => sessionStorage.setItem('operon.tokenExpiresAt', String(Date.now() + 500)));
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'expired' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('operon.apiToken')), null);

    await page.goto(`${baseUrl}/ui/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('.signed-in-as', { hasText: 'dev' }).waitFor();
  });
});

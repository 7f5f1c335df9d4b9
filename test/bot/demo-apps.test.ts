/**
 * The demo web applications over plain HTTP (no browser): sign-in with a session cookie, seeded data,
 * the stock table's pages, server-side form validation, and the open redirect used by egress tests.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemoApps,
  demoSecretDefaults,
  applicants,
  stock,
  WAREHOUSES,
  type DemoApps,
} from '../../processes/demo-apps/index.ts';

let apps: DemoApps;
before(async () => {
  apps = await startDemoApps({ port: 0 });
});
after(() => apps.close());

async function signIn(app: string, prefix: string): Promise<string> {
  const response = await fetch(`${apps.baseUrl}/${app}/login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({
      username: demoSecretDefaults[`${prefix}_USER`]!,
      password: demoSecretDefaults[`${prefix}_PASSWORD`]!,
    }),
  });
  assert.equal(response.status, 303);
  const cookie = response.headers.get('set-cookie');
  assert.ok(cookie, 'a session cookie');
  return cookie.split(';')[0]!;
}

test('every app redirects to its login page without a session, and refuses a wrong password', async () => {
  for (const url of Object.values(apps.urls)) {
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 303, url);
    assert.match(response.headers.get('location') ?? '', /\/login$/);
  }
  const wrong = await fetch(`${apps.urls.creditBureau}login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username: 'loan.clerk', password: 'guess' }),
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
});

test('seeded data: twelve applicants, every SKU in Leeds, Bristol and Glasgow, 10 stock rows a page', async () => {
  assert.equal(applicants.length, 12);
  assert.deepEqual([...WAREHOUSES], ['Leeds', 'Bristol', 'Glasgow']);
  assert.equal(stock.length % 3, 0);
  const cookie = await signIn('warehouse', 'WAREHOUSE');
  const pages = Math.ceil(stock.length / 10);
  const seen: unknown[] = [];
  for (let page = 1; page <= pages; page++) {
    const body = (await (
      await fetch(`${apps.baseUrl}/warehouse/api/stock?page=${page}`, { headers: { cookie } })
    ).json()) as { rows: unknown[]; pages: number };
    assert.equal(body.pages, pages);
    assert.ok(body.rows.length <= 10 && body.rows.length > 0);
    seen.push(...body.rows);
  }
  assert.deepEqual(seen, stock);
  const html = await (await fetch(`${apps.baseUrl}/warehouse/stock?page=1`, { headers: { cookie } })).text();
  assert.match(html, /rel="next"/);
});

test('carrier form: a heavy parcel outside Freight and a weekend pickup are refused with messages', async () => {
  const cookie = await signIn('carrier', 'CARRIER');
  const form = {
    reference: 'ORD-1',
    recipient: 'Ada',
    street: 'Main 1',
    postcode: '20457',
    city: 'Hamburg',
    country: 'DE',
    weightKg: '40',
    pickupDate: '2026-12-05',
    service: 'standard',
  };
  const refused = await fetch(`${apps.baseUrl}/carrier/bookings`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie },
    body: new URLSearchParams(form),
  });
  assert.equal(refused.status, 422);
  const text = await refused.text();
  assert.match(text, /must be booked as Freight/);
  assert.match(text, /not possible on Saturdays or Sundays/);
  const booked = await fetch(`${apps.baseUrl}/carrier/bookings`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie },
    body: new URLSearchParams({ ...form, service: 'freight', pickupDate: '2026-12-07' }),
  });
  assert.equal(booked.status, 303);
  assert.match(booked.headers.get('location') ?? '', /\/carrier\/bookings\/SP\d+DE$/);
});

test('core banking refuses an approval without an amount, records it once with a reference', async () => {
  const cookie = await signIn('core-banking', 'CORE_BANKING');
  const post = (body: Record<string, string>) =>
    fetch(`${apps.baseUrl}/core-banking/decisions`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie },
      body: new URLSearchParams(body),
    });
  assert.equal((await post({ applicationId: 'APP-2026-0001', decision: 'approve', amount: '' })).status, 422);
  const ok = await post({ applicationId: 'APP-2026-0001', decision: 'approve', amount: '12000' });
  assert.equal(ok.status, 303);
  assert.match(ok.headers.get('location') ?? '', /\/decisions\/DEC-\d+$/);
  const again = await post({ applicationId: 'APP-2026-0001', decision: 'approve', amount: '12000' });
  assert.equal(
    again.headers.get('location'),
    ok.headers.get('location'),
    'a retried booking returns the first reference',
  );
});

test('a path outside the four apps is 404', async () => {
  const response = await fetch(`${apps.baseUrl}/no-such-app/`, { redirect: 'manual' });
  assert.equal(response.status, 404);
});

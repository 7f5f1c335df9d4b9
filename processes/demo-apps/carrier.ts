/**
 * Carrier booking portal: sign in, book a shipment pickup, read the tracking number. The server
 * refuses weekend pickups and heavy parcels outside the freight service, so bots must correct
 * the form and submit again. Booking a reference again returns the first booking.
 */
import { errors, escape, page } from './html.ts';
import { RENDER_DELAY_MS, Sessions, type Reply, type Request } from './http.ts';

const TITLE = 'SwiftParcel Business Booking';
export const MAX_PARCEL_KG = 31.5;

export interface Booking {
  trackingNumber: string;
  reference: string;
  recipient: string;
  postcode: string;
  city: string;
  country: string;
  weightKg: number;
  service: string;
  pickupDate: string;
}

export function carrierApp(prefix: string, bookings: Booking[]) {
  const sessions = new Sessions(prefix, TITLE, 'CARRIER');

  function form(values: URLSearchParams, problems: string[]): string {
    const v = (name: string) => escape(values.get(name) ?? '');
    const field = (name: string, label: string) =>
      `<label for="${name}">${label}</label><input id="${name}" name="${name}" value="${v(name)}">`;
    const option = (name: string, value: string, label: string) =>
      `<option value="${value}"${values.get(name) === value ? ' selected' : ''}>${label}</option>`;
    return page(
      'New shipment',
      TITLE,
      `${errors(problems)}<form method="post" action="${prefix}/bookings">
${field('reference', 'Your reference')}${field('recipient', 'Recipient name')}${field('street', 'Street and number')}${field('postcode', 'Postcode')}${field('city', 'City')}
<label for="country">Country</label><select id="country" name="country">${option('country', 'DE', 'Germany')}${option('country', 'NL', 'Netherlands')}${option('country', 'FR', 'France')}${option('country', 'AT', 'Austria')}</select>
${field('weightKg', 'Weight (kg)')}${field('pickupDate', 'Pickup date (YYYY-MM-DD)')}
<label for="service">Service</label><select id="service" name="service">${option('service', 'standard', 'Standard')}${option('service', 'express', 'Express')}${option('service', 'freight', 'Freight')}</select>
<div><button type="submit">Book shipment</button></div></form>`,
    );
  }

  return async function handle(req: Request): Promise<Reply> {
    const login = sessions.handleLogin(req, '/bookings/new');
    if (login) return login;
    if (!sessions.authenticated(req)) return sessions.requireLogin();

    if (req.path === '/') return { redirect: `${prefix}/bookings/new` };
    if (req.path === '/bookings/new') return { html: form(new URLSearchParams(), []) };
    if (req.path === '/bookings' && req.method === 'POST') {
      const f = req.form;
      const problems: string[] = [];
      const get = (name: string) => (f.get(name) ?? '').trim();
      for (const [name, label] of [
        ['reference', 'Reference'],
        ['recipient', 'Recipient name'],
        ['street', 'Street'],
        ['city', 'City'],
      ] as const)
        if (!get(name)) problems.push(`${label} is required.`);
      if (!/^\d{4,5}$/.test(get('postcode')) && !/^\d{4} ?[A-Z]{2}$/i.test(get('postcode')))
        problems.push('Postcode is not valid.');
      const weightKg = Number(get('weightKg').replace(',', '.'));
      if (!(weightKg > 0)) problems.push('Weight must be a positive number.');
      else if (weightKg > MAX_PARCEL_KG && get('service') !== 'freight')
        problems.push(`Parcels over ${MAX_PARCEL_KG} kg must be booked as Freight.`);
      const pickup = new Date(`${get('pickupDate')}T12:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(get('pickupDate')) || Number.isNaN(pickup.getTime()))
        problems.push('Pickup date must be a date like 2026-05-04.');
      else if (pickup.getUTCDay() === 0 || pickup.getUTCDay() === 6)
        problems.push('Pickups are not possible on Saturdays or Sundays.');
      if (problems.length) return { status: 422, html: form(f, problems) };
      // One shipment per reference: a bot retried after booking gets the first tracking number back.
      const earlier = bookings.find((b) => b.reference === get('reference'));
      if (earlier) return { redirect: `${prefix}/bookings/${earlier.trackingNumber}` };
      const trackingNumber = `SP${String(4_711_000_000 + bookings.length * 7919).padStart(10, '0')}DE`;
      bookings.push({
        trackingNumber,
        reference: get('reference'),
        recipient: get('recipient'),
        postcode: get('postcode'),
        city: get('city'),
        country: get('country') || 'DE',
        weightKg,
        service: get('service'),
        pickupDate: get('pickupDate'),
      });
      return { redirect: `${prefix}/bookings/${trackingNumber}` };
    }
    const shown = /^\/bookings\/(SP\w+)$/.exec(req.path);
    if (shown) {
      const b = bookings.find((x) => x.trackingNumber === shown[1]);
      if (!b) return { status: 404, html: page('Not found', TITLE, '<p>No such booking.</p>') };
      return {
        html: page(
          'Booking confirmation',
          TITLE,
          `<div id="confirmation" aria-busy="true">Confirming with the depot…</div>
<template id="confirmed"><p class="notice" role="status">Shipment booked. Tracking number: <strong id="tracking-number">${b.trackingNumber}</strong></p>
<p>Pickup on <span id="pickup-date">${b.pickupDate}</span>, service <span id="service-booked">${escape(b.service)}</span>.</p></template>`,
          `setTimeout(()=>{const c=document.getElementById('confirmation');c.replaceChildren(document.getElementById('confirmed').content.cloneNode(true));c.removeAttribute('aria-busy')},${RENDER_DELAY_MS});`,
        ),
      };
    }
    return { status: 404, html: page('Not found', TITLE, '<p>Page not found.</p>') };
  };
}

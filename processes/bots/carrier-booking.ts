/**
 * `bot:carrier-booking`: books a shipment at the carrier portal and returns the tracking number.
 * The portal validates on the server; the bot reads the refusals and corrects the form (heavy parcels
 * must go as Freight, no weekend pickups), like a clerk would, before giving up.
 */
import { z } from 'zod';
import { defineBot } from '../../nodes/bot/define.ts';
import { appUrl, signIn } from './sign-in.ts';

const Destination = z.object({
  street: z.string().min(1),
  postcode: z.string().min(4),
  city: z.string().min(1),
  country: z.enum(['DE', 'NL', 'FR', 'AT']).default('DE'),
});

/** Where shipments go when the process has no address (the demo orders carry none). */
export const DEFAULT_DESTINATION = {
  street: 'Hafenstraße 12',
  postcode: '20457',
  city: 'Hamburg',
  country: 'DE' as const,
};

const Input = z.object({
  orderId: z.string().min(1),
  weightKg: z.number().positive(),
  /** Routing label: courier books Express, anything else Standard (Freight when too heavy). */
  route: z.string().default('warehouse'),
  recipient: z.string().optional(),
  customerName: z.string().optional(),
  destination: Destination.optional(),
  /** YYYY-MM-DD; default tomorrow. */
  pickupDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
});

const Output = z.object({
  trackingNumber: z.string().regex(/^SP\d+DE$/),
  service: z.enum(['standard', 'express', 'freight']),
  pickupDate: z.string(),
  /** Form submissions it took (1 when the first one was accepted). */
  submissions: z.number().int().positive(),
});

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The next Monday to Friday on or after `date`. */
function nextWeekday(date: string): string {
  let day = date;
  while ([0, 6].includes(new Date(`${day}T12:00:00Z`).getUTCDay())) day = addDays(day, 1);
  return day;
}

export const carrierBookingBot = defineBot({
  name: 'carrier-booking',
  description: 'Books a shipment at the carrier portal and returns the tracking number',
  input: Input,
  output: Output,
  secrets: ['CARRIER_USER', 'CARRIER_PASSWORD'],
  url: { env: 'DEMO_APPS_URL', default: 'http://127.0.0.1:3100' },
  async run({ page, input, secrets, log, baseUrl }) {
    const app = appUrl(baseUrl, '/carrier');
    await signIn(page, secrets, app, 'CARRIER');
    const to = input.destination ?? DEFAULT_DESTINATION;
    let service: 'standard' | 'express' | 'freight' = input.route === 'courier' ? 'express' : 'standard';
    let pickupDate = input.pickupDate ?? addDays(new Date().toISOString().slice(0, 10), 1);
    await page.goto(`${app}/bookings/new`);
    for (let submissions = 1; submissions <= 3; submissions++) {
      await page.locator('#reference').fill(input.orderId);
      await page.locator('#recipient').fill(input.recipient ?? input.customerName ?? 'Operon customer');
      await page.locator('#street').fill(to.street);
      await page.locator('#postcode').fill(to.postcode);
      await page.locator('#city').fill(to.city);
      await page.locator('#country').selectOption(to.country);
      await page.locator('#weightKg').fill(String(input.weightKg));
      await page.locator('#pickupDate').fill(pickupDate);
      await page.locator('#service').selectOption(service);
      await page.getByRole('button', { name: 'Book shipment' }).click();
      const tracking = page.locator('#tracking-number');
      const refused = page.locator('.error');
      await tracking.or(refused).first().waitFor();
      if (await tracking.isVisible())
        return { trackingNumber: (await tracking.textContent())!.trim(), service, pickupDate, submissions };
      const problems = (await refused.locator('li').allTextContents()).map((p) => p.trim());
      log.info('carrier refused the booking form', { problems, submissions });
      const fixable = problems.every((p) => /Freight|Saturdays or Sundays/.test(p));
      if (!fixable) throw new Error(`Carrier refused the booking: ${problems.join(' ')}`);
      if (problems.some((p) => p.includes('Freight'))) service = 'freight';
      if (problems.some((p) => p.includes('Saturdays or Sundays'))) pickupDate = nextWeekday(pickupDate);
    }
    throw new Error('Carrier kept refusing the booking after 3 submissions');
  },
});

/**
 * Realistic, reproducible demo cases: loan applications (mostly applicants the credit bureau knows,
 * a few it does not) and orders (a few of which never get delivered in time). Pure: the same seed
 * gives the same cases.
 */

/** Applicants on file at the demo credit bureau (processes/demo-apps). */
export const KNOWN_APPLICANTS: readonly { id: string; name: string }[] = [
  { id: 'AP-10001', name: 'Maria Schneider' },
  { id: 'AP-10002', name: 'Jonas Weber' },
  { id: 'AP-10003', name: 'Aylin Kaya' },
  { id: 'AP-10004', name: 'Thomas Müller' },
  { id: 'AP-10005', name: 'Sophie Martin' },
  { id: 'AP-10006', name: 'Lukas Becker' },
  { id: 'AP-10007', name: 'Emma Fischer' },
  { id: 'AP-10008', name: 'Mehmet Yilmaz' },
  { id: 'AP-10009', name: 'Julia Hoffmann' },
  { id: 'AP-10010', name: 'Pieter de Vries' },
  { id: 'AP-10011', name: 'Maria Schmidt' },
  { id: 'AP-10012', name: 'Noah Wagner' },
];

export interface LoanApplication {
  applicationId: string;
  applicantId?: string;
  applicantName: string;
  income: number;
  amount: number;
  termMonths: number;
  employment: string;
  purpose: string;
  /** How long the review task may stay open before it escalates (ISO 8601 duration). */
  reviewDeadline: string;
}

export interface Order {
  orderId: string;
  customerName: string;
  customerEmail: string;
  /** Delivery address, as the carrier portal wants it. */
  destination: { street: string; postcode: string; city: string; country: string };
  sku: string;
  quantity: number;
  weightKg: number;
  distanceKm: number;
  deadlineHours: number;
  customerTier: string;
  notes: string;
  /** How long to wait for the "delivered" message before the late-delivery path (ISO 8601 duration). */
  deliveryDeadline: string;
}

/** mulberry32: a small seeded PRNG, so a demo run is repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const between = (random: () => number, low: number, high: number, step = 1) =>
  low + Math.floor((random() * (high - low)) / step) * step;

const PURPOSES = [
  'a new kitchen for our flat',
  'buying a used car to get to work',
  'consolidating two credit cards into one payment',
  'solar panels and a heat pump for the house',
  'our wedding in June',
  'new roof after the storm damage',
  'university fees for my daughter',
  'dental treatment not covered by insurance',
  'furniture for our first home',
  'an electric bike for commuting',
  'renovating the bathroom',
];
/** About one application in seven has a purpose a credit officer frowns at. */
const RISKY_PURPOSES = [
  'paying off gambling debts before the bank finds out',
  'a holiday in the Maldives',
  'covering rent until my next contract starts',
  'starting a small bakery with my sister',
  'refinancing my overdraft',
];
const EMPLOYMENT = [
  'permanent',
  'permanent',
  'permanent',
  'permanent',
  'permanent',
  'permanent',
  'self-employed',
  'contract',
  'part-time',
  'retired',
  'student',
  'unemployed',
] as const;
const UNKNOWN_NAMES = ['Karl Unbekannt', 'Greta Niemand', 'Otto Fremd', 'Ines Nowhere'];

/** `count` loan applications; about one in twenty names an applicant the credit bureau does not know. */
export function loanApplications(
  count: number,
  seed = 42,
  applicants: readonly { id: string; name: string }[] = KNOWN_APPLICANTS,
): LoanApplication[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const known = random() >= 0.05;
    const applicant = known ? pick(random, applicants) : undefined;
    const employment = pick(random, EMPLOYMENT);
    const income =
      employment === 'student'
        ? between(random, 6000, 15000, 500)
        : employment === 'unemployed'
          ? between(random, 0, 9000, 500)
          : between(random, 30000, 140000, 1000);
    // Most people ask for what they can carry: a tenth to a half of a year's income.
    const amount = Math.max(1000, Math.round((income * (0.1 + random() * 0.4)) / 500) * 500);
    return {
      applicationId: `APP-2026-${String(i + 1).padStart(4, '0')}`,
      ...(applicant ? { applicantId: applicant.id } : {}),
      applicantName: applicant?.name ?? pick(random, UNKNOWN_NAMES),
      income,
      amount,
      termMonths: pick(random, [12, 24, 36, 48, 60, 84] as const),
      employment,
      purpose: random() < 0.15 ? pick(random, RISKY_PURPOSES) : pick(random, PURPOSES),
      reviewDeadline: 'PT24H',
    };
  });
}

const FIRST = ['Anna', 'Ben', 'Chloe', 'David', 'Elif', 'Finn', 'Grace', 'Hugo', 'Isla', 'Jakob', 'Lea', 'Milan'];
const LAST = ['Schulz', 'Jansen', 'Brown', 'Novak', 'Rossi', 'Dubois', 'Öztürk', 'Visser', 'Kowalski', 'Lindqvist'];
const NOTES = [
  'please leave at the back door',
  'I live next to the depot and can collect it myself',
  'needed for an event on Friday, urgent',
  'office closes at 5pm, deliver before',
  'fragile, glass parts',
  'no rush, whenever convenient',
  'call me 30 minutes before arrival',
  'can you ship it with the next regular truck',
  'express please, the old one broke',
];
const ADDRESSES = [
  { street: 'Keizersgracht 12', postcode: '1015 CS', city: 'Amsterdam', country: 'NL' },
  { street: 'Hauptstraße 5', postcode: '69117', city: 'Heidelberg', country: 'DE' },
  { street: 'Schillerstraße 41', postcode: '04109', city: 'Leipzig', country: 'DE' },
  { street: 'Coolsingel 40', postcode: '3011 AD', city: 'Rotterdam', country: 'NL' },
  { street: 'Mönckebergstraße 7', postcode: '20095', city: 'Hamburg', country: 'DE' },
  { street: 'Oudegracht 99', postcode: '3511 AE', city: 'Utrecht', country: 'NL' },
] as const;
const TIERS = ['standard', 'standard', 'silver', 'gold', 'platinum'] as const;

/**
 * `count` orders; about one in ten has a short delivery deadline and is never reported delivered,
 * so it takes the late-delivery path (`lateDeadline`, default 20 seconds).
 */
export function orders(count: number, seed = 7, lateDeadline = 'PT20S'): (Order & { willBeLate: boolean })[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const first = pick(random, FIRST);
    const last = pick(random, LAST);
    const willBeLate = random() < 0.1;
    return {
      orderId: `ORD-${String(50001 + i)}`,
      customerName: `${first} ${last}`,
      customerEmail: `${first}.${last}@example.com`.toLowerCase(),
      destination: { ...pick(random, ADDRESSES) },
      sku: `SKU-${1001 + Math.floor(random() * 16)}`,
      quantity: between(random, 1, 6),
      weightKg: Math.round((0.3 + random() * 29.5) * 10) / 10,
      distanceKm: between(random, 2, 900),
      deadlineHours: pick(random, [4, 12, 24, 48, 72, 120] as const),
      customerTier: pick(random, TIERS),
      notes: pick(random, NOTES),
      deliveryDeadline: willBeLate ? lateDeadline : 'PT1H',
      willBeLate,
    };
  });
}

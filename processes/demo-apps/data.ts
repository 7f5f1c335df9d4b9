/** Seeded records of the demo apps. Fixed data, so tests and demos give the same answers every run. */

export interface Debt {
  creditor: string;
  kind: string;
  balance: number;
}
export interface Applicant {
  id: string;
  name: string;
  birthDate: string;
  city: string;
  score: number;
  debts: Debt[];
}

export const applicants: Applicant[] = [
  {
    id: 'AP-10001',
    name: 'Maria Schneider',
    birthDate: '1984-03-12',
    city: 'Cologne',
    score: 782,
    debts: [{ creditor: 'Sparkasse KölnBonn', kind: 'Mortgage', balance: 142000 }],
  },
  {
    id: 'AP-10002',
    name: 'Jonas Weber',
    birthDate: '1991-11-02',
    city: 'Leipzig',
    score: 611,
    debts: [
      { creditor: 'Santander Consumer', kind: 'Car loan', balance: 8400 },
      { creditor: 'Barclaycard', kind: 'Credit card', balance: 2350 },
    ],
  },
  {
    id: 'AP-10003',
    name: 'Aylin Kaya',
    birthDate: '1979-07-23',
    city: 'Hamburg',
    score: 455,
    debts: [
      { creditor: 'Ratenkauf24', kind: 'Instalment', balance: 5900 },
      { creditor: 'Barclaycard', kind: 'Credit card', balance: 7800 },
      { creditor: 'Mobilfunk AG', kind: 'Overdue bill', balance: 640 },
    ],
  },
  { id: 'AP-10004', name: 'Thomas Müller', birthDate: '1969-01-30', city: 'Munich', score: 823, debts: [] },
  {
    id: 'AP-10005',
    name: 'Sophie Martin',
    birthDate: '1995-05-17',
    city: 'Strasbourg',
    score: 702,
    debts: [{ creditor: 'Crédit Mutuel', kind: 'Student loan', balance: 12500 }],
  },
  {
    id: 'AP-10006',
    name: 'Lukas Becker',
    birthDate: '1988-09-09',
    city: 'Berlin',
    score: 538,
    debts: [
      { creditor: 'Targobank', kind: 'Overdraft', balance: 3100 },
      { creditor: 'Volkswagen Bank', kind: 'Car loan', balance: 15600 },
    ],
  },
  { id: 'AP-10007', name: 'Emma Fischer', birthDate: '2001-02-14', city: 'Bremen', score: 664, debts: [] },
  {
    id: 'AP-10008',
    name: 'Mehmet Yilmaz',
    birthDate: '1976-12-05',
    city: 'Dortmund',
    score: 391,
    debts: [
      { creditor: 'Inkasso Nord', kind: 'Collection', balance: 4200 },
      { creditor: 'Barclaycard', kind: 'Credit card', balance: 9900 },
    ],
  },
  {
    id: 'AP-10009',
    name: 'Julia Hoffmann',
    birthDate: '1983-06-28',
    city: 'Stuttgart',
    score: 748,
    debts: [{ creditor: 'BW-Bank', kind: 'Mortgage', balance: 231000 }],
  },
  {
    id: 'AP-10010',
    name: 'Pieter de Vries',
    birthDate: '1990-04-03',
    city: 'Utrecht',
    score: 689,
    debts: [{ creditor: 'ING', kind: 'Personal loan', balance: 6000 }],
  },
  {
    id: 'AP-10011',
    name: 'Maria Schmidt',
    birthDate: '1972-10-19',
    city: 'Hanover',
    score: 597,
    debts: [{ creditor: 'Commerzbank', kind: 'Personal loan', balance: 11200 }],
  },
  {
    id: 'AP-10012',
    name: 'Noah Wagner',
    birthDate: '1998-08-08',
    city: 'Frankfurt',
    score: 520,
    debts: [
      { creditor: 'Klarna', kind: 'Buy now pay later', balance: 870 },
      { creditor: 'N26', kind: 'Overdraft', balance: 1450 },
    ],
  },
];

export interface StockRow {
  sku: string;
  description: string;
  warehouse: string;
  onHand: number;
  reserved: number;
}

const products: [string, string][] = [
  ['SKU-1001', 'Office chair, ergonomic'],
  ['SKU-1002', 'Standing desk 160x80'],
  ['SKU-1003', 'Monitor arm, dual'],
  ['SKU-1004', 'Desk lamp LED'],
  ['SKU-1005', 'Filing cabinet, 3 drawers'],
  ['SKU-1006', 'Whiteboard 120x90'],
  ['SKU-1007', 'Conference phone'],
  ['SKU-1008', 'Laptop stand, aluminium'],
  ['SKU-1009', 'Cable tray'],
  ['SKU-1010', 'Footrest, adjustable'],
  ['SKU-1011', 'Acoustic panel'],
  ['SKU-1012', 'Coat stand'],
  ['SKU-1013', 'Paper shredder P-4'],
  ['SKU-1014', 'Document scanner'],
  ['SKU-1015', 'Wireless presenter'],
  ['SKU-1016', 'Drawer unit on wheels'],
];
/** The depots, in table order (the warehouse-stock bot reports them as `stock.leeds` ...). */
export const WAREHOUSES = ['Leeds', 'Bristol', 'Glasgow'] as const;
const warehouses = WAREHOUSES;

/** 48 rows: every product in every warehouse, quantities from a fixed formula (some sold out). */
export const stock: StockRow[] = products.flatMap(([sku, description], p) =>
  warehouses.map((warehouse, w) => {
    const onHand = (p * 37 + w * 53) % 11 === 0 ? 0 : ((p + 3) * (w + 5) * 7) % 140;
    return { sku, description, warehouse, onHand, reserved: Math.min(onHand, ((p + w) * 13) % 17) };
  }),
);

export const STOCK_PAGE_SIZE = 10;

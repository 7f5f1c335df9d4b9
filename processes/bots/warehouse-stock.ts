/**
 * `bot:warehouse-stock`: pages through the warehouse stock screen (10 rows a page, no search) and
 * returns the available units of one SKU per depot. Unknown SKU -> BPMN error `SKU_NOT_FOUND`.
 */
import { z } from 'zod';
import { BpmnError } from '../../engine/errors.ts';
import { defineBot } from '../../nodes/bot/define.ts';
import { appUrl, signIn } from './sign-in.ts';

const Input = z.object({
  sku: z.string().regex(/^SKU-\d{4}$/, 'must look like SKU-1001'),
  /** Units the order needs; default 1. */
  quantity: z.number().int().positive().default(1),
});

const Row = z.object({ warehouse: z.string(), onHand: z.number(), reserved: z.number(), available: z.number() });

const Output = z.object({
  sku: z.string(),
  /** Available (on hand minus reserved) units per depot, lower-case keys. */
  stock: z.object({ leeds: z.number(), bristol: z.number(), glasgow: z.number() }),
  rows: z.array(Row),
  totalAvailable: z.number(),
  /** Depots that can ship the whole quantity on their own. */
  warehousesWithStock: z.array(z.string()),
  inStock: z.boolean(),
  pagesRead: z.number().int().positive(),
});

export const warehouseStockBot = defineBot({
  name: 'warehouse-stock',
  description: 'Reads the available stock of a SKU per warehouse from the stock screen',
  input: Input,
  output: Output,
  secrets: ['WAREHOUSE_USER', 'WAREHOUSE_PASSWORD'],
  url: { env: 'DEMO_APPS_URL', default: 'http://127.0.0.1:3100' },
  async run({ page, input, secrets, baseUrl, signal }) {
    const app = appUrl(baseUrl, '/warehouse');
    await signIn(page, secrets, app, 'WAREHOUSE');
    await page.goto(`${app}/stock`);
    const rows: z.infer<typeof Row>[] = [];
    let pagesRead = 0;
    for (;;) {
      signal.throwIfAborted();
      await page.locator('#stock[data-loaded=true]').waitFor();
      pagesRead++;
      const cells = await page
        .locator('#stock tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
        );
      for (const [sku, , warehouse = '', onHand = '0', reserved = '0', available = '0'] of cells) {
        if (sku === input.sku)
          rows.push({ warehouse, onHand: Number(onHand), reserved: Number(reserved), available: Number(available) });
      }
      // Sorted by SKU: once a later SKU shows, ours is complete.
      const pastIt = cells.some(([sku = '']) => sku > input.sku);
      const next = page.locator('a[rel=next]');
      if (pastIt || (await next.count()) === 0) break;
      await Promise.all([page.waitForURL(/page=\d+/), next.click()]);
    }
    if (rows.length === 0) throw new BpmnError('SKU_NOT_FOUND', `The warehouse has no SKU ${input.sku}`);
    const at = (name: string) => rows.find((r) => r.warehouse.toLowerCase() === name)?.available ?? 0;
    return {
      sku: input.sku,
      stock: { leeds: at('leeds'), bristol: at('bristol'), glasgow: at('glasgow') },
      rows,
      totalAvailable: rows.reduce((sum, r) => sum + r.available, 0),
      warehousesWithStock: rows.filter((r) => r.available >= input.quantity).map((r) => r.warehouse),
      inStock: rows.some((r) => r.available >= input.quantity),
      pagesRead,
    };
  },
});

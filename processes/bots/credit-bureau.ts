/**
 * `bot:credit-bureau`: looks an applicant up at the credit bureau portal (by id, else by name) and
 * reads the credit report. Unknown applicant -> BPMN error `APPLICANT_NOT_FOUND`.
 */
import { z } from 'zod';
import { BpmnError } from '../../engine/errors.ts';
import { defineBot } from '../../nodes/bot/define.ts';
import { appUrl, parseAmount, signIn } from './sign-in.ts';

const Input = z
  .object({
    applicantId: z.string().trim().min(3).optional(),
    applicantName: z.string().trim().min(3).optional(),
  })
  .refine((v) => v.applicantId !== undefined || v.applicantName !== undefined, {
    message: 'applicantId or applicantName is required',
    path: ['applicantName'],
  });

const Output = z.object({
  applicantId: z.string(),
  applicantName: z.string(),
  creditScore: z.number().int().min(0).max(900),
  /** Sum of open balances (EUR). */
  openDebts: z.number().min(0),
  debts: z.array(z.object({ creditor: z.string(), kind: z.string(), balance: z.number() })),
  bureauRecordId: z.string(),
});

export const creditBureauBot = defineBot({
  name: 'credit-bureau',
  description: 'Reads credit score and open debts of an applicant from the credit bureau portal',
  input: Input,
  output: Output,
  secrets: ['CREDIT_BUREAU_USER', 'CREDIT_BUREAU_PASSWORD'],
  url: { env: 'DEMO_APPS_URL', default: 'http://127.0.0.1:3100' },
  async run({ page, input, secrets, log, baseUrl }) {
    const app = appUrl(baseUrl, '/credit-bureau');
    await signIn(page, secrets, app, 'CREDIT_BUREAU');
    const term = input.applicantId ?? input.applicantName!;
    await page.goto(`${app}/search?q=${encodeURIComponent(term)}`);
    const results = page.locator('#results:not([aria-busy])');
    await results.waitFor();
    const rows = await page.locator('#applicants tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        name: tr.querySelector('td a')?.textContent?.trim() ?? '',
        id: tr.querySelectorAll('td')[1]?.textContent?.trim() ?? '',
      })),
    );
    const wanted = (input.applicantName ?? '').toLowerCase();
    const match =
      rows.find((r) => input.applicantId !== undefined && r.id === input.applicantId) ??
      rows.find((r) => wanted !== '' && r.name.toLowerCase() === wanted) ??
      (rows.length === 1 && input.applicantId === undefined ? rows[0] : undefined);
    if (!match) {
      log.info('applicant not on file', { matches: rows.length });
      throw new BpmnError(
        'APPLICANT_NOT_FOUND',
        `The credit bureau has no applicant '${term}'${rows.length ? ` (${rows.length} partial matches)` : ''}`,
      );
    }
    await page.getByRole('link', { name: match.name, exact: true }).first().click();
    const score = page.locator('[data-field=score]');
    await score.waitFor();
    const debts = await page
      .locator('#debts tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));
    return {
      applicantId: match.id,
      applicantName: match.name,
      creditScore: Number(await score.textContent()),
      openDebts: parseAmount(await page.locator('[data-field=total-debts]').textContent()),
      debts: debts.map(([creditor = '', kind = '', balance = '0']) => ({
        creditor,
        kind,
        balance: parseAmount(balance),
      })),
      bureauRecordId: (await page.locator('[data-field=record]').textContent())?.trim() ?? '',
    };
  },
});

/**
 * `bot:core-banking`: records a loan decision in the core-banking back office and returns the
 * booking reference. The decision comes from `decision`, else `outcome` (a reviewer's label), else
 * `label`, else `loanDecision.label`; `review` is booked as a referral to the credit committee.
 */
import { z } from 'zod';
import { defineBot } from '../../nodes/bot/define.ts';
import { appUrl, signIn } from './sign-in.ts';

const Label = z.enum(['approve', 'reject', 'review', 'refer']);

const Input = z
  .object({
    applicationId: z.string().regex(/^[A-Z]{2,4}-[\dA-Z-]{4,20}$/, 'must look like APP-2026-0001'),
    applicantName: z.string().optional(),
    decision: Label.optional(),
    outcome: Label.optional(),
    label: Label.optional(),
    loanDecision: z.object({ label: Label }).partial().optional(),
    amount: z.number().positive().optional(),
    reason: z.string().optional(),
  })
  .transform((v) => ({ ...v, resolved: v.decision ?? v.outcome ?? v.label ?? v.loanDecision?.label }))
  .refine((v) => v.resolved !== undefined, {
    message: 'decision (or outcome, label, loanDecision.label) is required',
    path: ['decision'],
  })
  .refine((v) => v.resolved !== 'approve' || v.amount !== undefined, {
    message: 'amount is required for an approval',
    path: ['amount'],
  });

const Output = z.object({
  bookingReference: z.string().regex(/^DEC-\d+$/),
  bookedDecision: z.enum(['approve', 'reject', 'refer']),
});

export const coreBankingBot = defineBot({
  name: 'core-banking',
  description: 'Records a loan decision in the core-banking back office',
  input: Input,
  output: Output,
  secrets: ['CORE_BANKING_USER', 'CORE_BANKING_PASSWORD'],
  url: { env: 'DEMO_APPS_URL', default: 'http://127.0.0.1:3100' },
  async run({ page, input, secrets, baseUrl }) {
    const app = appUrl(baseUrl, '/core-banking');
    await signIn(page, secrets, app, 'CORE_BANKING');
    const decision = input.resolved === 'review' ? 'refer' : input.resolved!;
    await page.goto(`${app}/decisions/new`);
    await page.locator('#applicationId').fill(input.applicationId);
    await page.locator('#decision').selectOption(decision);
    if (decision === 'approve') await page.locator('#amount').fill(String(input.amount));
    else
      await page
        .locator('#reason')
        .fill(
          input.reason ??
            `${decision === 'reject' ? 'Rejected' : 'Referred'} by Operon loan process${input.applicantName ? ` for ${input.applicantName}` : ''}`,
        );
    await page.getByRole('button', { name: 'Record decision' }).click();
    const reference = page.locator('#reference');
    const refused = page.locator('.error');
    await reference.or(refused).first().waitFor();
    if (await refused.isVisible())
      throw new Error(`Core banking refused the decision: ${(await refused.innerText()).replace(/\s+/g, ' ').trim()}`);
    return { bookingReference: (await reference.textContent())!.trim(), bookedDecision: decision };
  },
});

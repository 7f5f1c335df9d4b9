/**
 * Core-banking back office: sign in and record a credit decision for a loan application. The form
 * validates on the server (application number format, amount for approvals, reason for rejections).
 * An application already decided returns its first booking, so a retried bot cannot book twice.
 */
import { errors, escape, page } from './html.ts';
import { Sessions, type Reply, type Request } from './http.ts';

const TITLE = 'Nordbank Core Banking · Back Office';

export interface RecordedDecision {
  reference: string;
  applicationId: string;
  decision: string;
  amount: number | null;
  reason: string;
  recordedAt: string;
}

export function coreBankingApp(prefix: string, decisions: RecordedDecision[]) {
  const sessions = new Sessions(prefix, TITLE, 'CORE_BANKING');

  function form(values: URLSearchParams, problems: string[]): string {
    const v = (name: string) => escape(values.get(name) ?? '');
    const option = (value: string, label: string) =>
      `<option value="${value}"${values.get('decision') === value ? ' selected' : ''}>${label}</option>`;
    return page(
      'Record credit decision',
      TITLE,
      `${errors(problems)}<form method="post" action="${prefix}/decisions">
<label for="applicationId">Application number</label><input id="applicationId" name="applicationId" value="${v('applicationId')}" placeholder="APP-2026-0001">
<label for="decision">Decision</label><select id="decision" name="decision"><option value="">— choose —</option>${option('approve', 'Approve')}${option('reject', 'Reject')}${option('refer', 'Refer to credit committee')}</select>
<label for="amount">Approved amount (EUR)</label><input id="amount" name="amount" value="${v('amount')}">
<label for="reason">Reason</label><input id="reason" name="reason" size="60" value="${v('reason')}">
<div><button type="submit">Record decision</button></div></form>`,
    );
  }

  return async function handle(req: Request): Promise<Reply> {
    const login = sessions.handleLogin(req, '/decisions/new');
    if (login) return login;
    if (!sessions.authenticated(req)) return sessions.requireLogin();

    if (req.path === '/' || (req.path === '/decisions/new' && req.method === 'GET')) {
      return req.path === '/' ? { redirect: `${prefix}/decisions/new` } : { html: form(new URLSearchParams(), []) };
    }
    if (req.path === '/decisions' && req.method === 'POST') {
      const f = req.form;
      const problems: string[] = [];
      const applicationId = (f.get('applicationId') ?? '').trim();
      const decision = f.get('decision') ?? '';
      const amountText = (f.get('amount') ?? '').trim();
      const reason = (f.get('reason') ?? '').trim();
      if (!/^[A-Z]{2,4}-[\dA-Z-]{4,20}$/.test(applicationId))
        problems.push('Application number must look like APP-2026-0001.');
      if (!['approve', 'reject', 'refer'].includes(decision)) problems.push('Choose a decision.');
      const amount = amountText === '' ? null : Number(amountText);
      if (decision === 'approve' && (amount === null || !Number.isFinite(amount) || amount <= 0))
        problems.push('Approved amount must be a positive number without separators.');
      if (decision !== 'approve' && amountText !== '') problems.push('Only approvals carry an amount.');
      if (decision !== 'approve' && reason.length < 5)
        problems.push('A reason is required for rejections and referrals.');
      if (problems.length) return { status: 422, html: form(f, problems) };
      // One decision per application: a bot retried after submitting gets the first booking back.
      const earlier = decisions.find((d) => d.applicationId === applicationId);
      if (earlier) return { redirect: `${prefix}/decisions/${earlier.reference}` };
      const reference = `DEC-${String(700100 + decisions.length).padStart(6, '0')}`;
      decisions.push({ reference, applicationId, decision, amount, reason, recordedAt: new Date().toISOString() });
      return { redirect: `${prefix}/decisions/${reference}` };
    }
    const shown = /^\/decisions\/(DEC-\d+)$/.exec(req.path);
    if (shown) {
      const d = decisions.find((x) => x.reference === shown[1]);
      if (!d) return { status: 404, html: page('Not found', TITLE, '<p>No such decision.</p>') };
      return {
        html: page(
          'Decision recorded',
          TITLE,
          `<p class="notice" role="status">Decision recorded under reference <strong id="reference">${d.reference}</strong>.</p>
<dl><dt>Application</dt><dd>${escape(d.applicationId)}</dd><dt>Decision</dt><dd>${escape(d.decision)}</dd></dl>`,
        ),
      };
    }
    return { status: 404, html: page('Not found', TITLE, '<p>Page not found.</p>') };
  };
}

/**
 * Credit bureau portal: sign in, search an applicant by ID or name, open the credit report (score and
 * open debts). Results and reports load after a short delay, like the real thing. `?broken=1` on a
 * report page renders the score under another name, to test how a bot fails on a changed page.
 */
import { applicants } from './data.ts';
import { errors, escape, page } from './html.ts';
import { RENDER_DELAY_MS, Sessions, type Reply, type Request } from './http.ts';

const TITLE = 'CrediCheck Bureau Portal';

export function creditBureauApp(prefix: string) {
  const sessions = new Sessions(prefix, TITLE, 'CREDIT_BUREAU');

  function search(q: string) {
    const term = q.trim().toLowerCase();
    return applicants.filter((a) => a.id.toLowerCase() === term || a.name.toLowerCase().includes(term));
  }

  return async function handle(req: Request): Promise<Reply> {
    const login = sessions.handleLogin(req, '/search');
    if (login) return login;
    if (!sessions.authenticated(req)) return sessions.requireLogin();

    if (req.path === '/') return { redirect: `${prefix}/search` };
    if (req.path === '/search') {
      const q = req.query.get('q');
      const problems =
        q !== null && q.trim().length < 3 ? ['Enter at least 3 characters of a name or an applicant ID.'] : [];
      const results = q !== null && problems.length === 0 ? `<div id="results" aria-busy="true">Searching…</div>` : '';
      const script =
        q !== null && problems.length === 0
          ? `setTimeout(async()=>{const r=await fetch(${JSON.stringify(`${prefix}/api/search?q=`)}+encodeURIComponent(${JSON.stringify(q)}));const list=await r.json();const el=document.getElementById('results');el.removeAttribute('aria-busy');
el.innerHTML=list.length?'<table id="applicants"><thead><tr><th>Applicant</th><th>ID</th><th>Date of birth</th><th>City</th></tr></thead><tbody>'+list.map(a=>'<tr><td><a href="${prefix}/applicants/'+a.id+'">'+a.name+'</a></td><td>'+a.id+'</td><td>'+a.birthDate+'</td><td>'+a.city+'</td></tr>').join('')+'</tbody></table>':'<p class="empty">No applicant matches your search.</p>'},${RENDER_DELAY_MS});`
          : '';
      return {
        html: page(
          'Applicant search',
          TITLE,
          `${errors(problems)}<form method="get" action="${prefix}/search">
<label for="q">Applicant ID or name</label><input id="q" name="q" value="${escape(q ?? '')}"> <button type="submit">Search</button></form>${results}`,
          script,
        ),
      };
    }
    if (req.path === '/api/search') {
      return {
        json: search(req.query.get('q') ?? '').map(({ id, name, birthDate, city }) => ({ id, name, birthDate, city })),
      };
    }
    const report = /^\/applicants\/([\w-]+)$/.exec(req.path);
    if (report) {
      const applicant = applicants.find((a) => a.id === report[1]);
      if (!applicant) return { status: 404, html: page('Not found', TITLE, '<p>No such applicant.</p>') };
      // ?broken=1 renames the score field: how bots fail on a page that changed under them.
      const broken = req.query.get('broken') === '1';
      const total = applicant.debts.reduce((sum, d) => sum + d.balance, 0);
      const body = `<dl><dt>Name</dt><dd data-field="name">${escape(applicant.name)}</dd><dt>Applicant ID</dt><dd data-field="id">${applicant.id}</dd></dl>
<div id="report" aria-busy="true">Loading report…</div>
<template id="report-body"><h2>Credit score</h2><p>Score: <strong data-field="${broken ? 'score-v2' : 'score'}">${applicant.score}</strong> of 900</p>
<h2>Open debts</h2>${
        applicant.debts.length
          ? `<table id="debts"><thead><tr><th>Creditor</th><th>Type</th><th>Balance (EUR)</th></tr></thead><tbody>${applicant.debts.map((d) => `<tr><td>${escape(d.creditor)}</td><td>${escape(d.kind)}</td><td class="balance">${d.balance.toLocaleString('en-US')}</td></tr>`).join('')}</tbody></table>`
          : '<p class="empty">No open debts.</p>'
      }
<p>Total open debts: <strong data-field="total-debts">${total.toLocaleString('en-US')}</strong> EUR</p>
<p>Bureau record: <span data-field="record">CB-${applicant.id.slice(3)}-${applicant.score}</span></p></template>`;
      const script = `setTimeout(()=>{const r=document.getElementById('report');r.replaceChildren(document.getElementById('report-body').content.cloneNode(true));r.removeAttribute('aria-busy')},${RENDER_DELAY_MS});`;
      return { html: page(`Credit report ${applicant.id}`, TITLE, body, script) };
    }
    return { status: 404, html: page('Not found', TITLE, '<p>Page not found.</p>') };
  };
}

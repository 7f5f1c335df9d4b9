/**
 * Warehouse stock screen: sign in, then a paged stock table (10 rows a page, every SKU in every
 * warehouse) that loads after a short delay. No search: a bot pages through the table.
 */
import { STOCK_PAGE_SIZE, stock } from './data.ts';
import { page } from './html.ts';
import { RENDER_DELAY_MS, Sessions, type Reply, type Request } from './http.ts';

const TITLE = 'LogiStock Warehouse Management';

export function warehouseApp(prefix: string) {
  const sessions = new Sessions(prefix, TITLE, 'WAREHOUSE');
  const pages = Math.ceil(stock.length / STOCK_PAGE_SIZE);

  return async function handle(req: Request): Promise<Reply> {
    const login = sessions.handleLogin(req, '/stock');
    if (login) return login;
    if (!sessions.authenticated(req)) return sessions.requireLogin();

    if (req.path === '/') return { redirect: `${prefix}/stock` };
    if (req.path === '/api/stock') {
      const n = Math.min(Math.max(1, Number(req.query.get('page')) || 1), pages);
      return { json: { page: n, pages, rows: stock.slice((n - 1) * STOCK_PAGE_SIZE, n * STOCK_PAGE_SIZE) } };
    }
    if (req.path === '/stock') {
      const n = Math.min(Math.max(1, Number(req.query.get('page')) || 1), pages);
      const nav = `<nav aria-label="Pages">Page <span id="page-number">${n}</span> of <span id="page-count">${pages}</span>
${n > 1 ? `<a rel="prev" href="${prefix}/stock?page=${n - 1}">Previous</a>` : ''} ${n < pages ? `<a rel="next" href="${prefix}/stock?page=${n + 1}">Next</a>` : ''}</nav>`;
      const script = `setTimeout(async()=>{const r=await fetch(${JSON.stringify(`${prefix}/api/stock?page=${n}`)});const d=await r.json();const t=document.getElementById('stock');
t.querySelector('tbody').innerHTML=d.rows.map(s=>'<tr><td class="sku">'+s.sku+'</td><td>'+s.description+'</td><td class="warehouse">'+s.warehouse+'</td><td class="on-hand">'+s.onHand+'</td><td class="reserved">'+s.reserved+'</td><td class="available">'+(s.onHand-s.reserved)+'</td></tr>').join('');t.setAttribute('data-loaded','true')},${RENDER_DELAY_MS});`;
      return {
        html: page(
          'Stock on hand',
          TITLE,
          `<table id="stock"><thead><tr><th>SKU</th><th>Description</th><th>Warehouse</th><th>On hand</th><th>Reserved</th><th>Available</th></tr></thead><tbody><tr><td colspan="6">Loading…</td></tr></tbody></table>${nav}`,
          script,
        ),
      };
    }
    return { status: 404, html: page('Not found', TITLE, '<p>Page not found.</p>') };
  };
}

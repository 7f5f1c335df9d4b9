/** Tiny HTML helpers for the demo apps: escaping, a page layout, the login form. */

export function escape(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A full page in the look of an old intranet portal. */
export function page(title: string, appTitle: string, body: string, script = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · ${escape(appTitle)}</title>
<style>body{font:14px/1.4 Verdana,sans-serif;margin:0;background:#eef1f5;color:#222}header{background:#1f3a5f;color:#fff;padding:8px 16px}
main{padding:16px;max-width:900px}table{border-collapse:collapse;background:#fff}td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}
.error{color:#a00;background:#fee;border:1px solid #d99;padding:6px;margin:8px 0}.notice{color:#060;background:#efe;border:1px solid #9c9;padding:6px}
label{display:block;margin-top:8px}input,select{padding:3px}button{margin-top:10px;padding:4px 14px}</style></head>
<body><header><strong>${escape(appTitle)}</strong></header><main><h1>${escape(title)}</h1>${body}</main>${script ? `<script>${script}</script>` : ''}</body></html>`;
}

export function errors(list: string[]): string {
  return list.length
    ? `<div class="error" role="alert"><ul>${list.map((e) => `<li>${escape(e)}</li>`).join('')}</ul></div>`
    : '';
}

export function loginForm(action: string, appTitle: string, error?: string, user = ''): string {
  return page(
    'Sign in',
    appTitle,
    `${error ? errors([error]) : ''}
<form method="post" action="${escape(action)}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" value="${escape(user)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<div><button type="submit">Sign in</button></div></form>`,
  );
}

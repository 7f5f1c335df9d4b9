// The cockpit shell: sign-in (OpenID provider, or the API token), navigation, and a hash router over the views.
import { html, render, useEffect, useState } from './lib.js';
import { api, session, tokenWorks } from './api.js';
import { completeSignIn, isSignInAnswer, loadAuthConfig, startSignIn } from './oidc.js';
import { ProcessList, ProcessDetail } from './processes.js';
import { InstanceList } from './instances.js';
import { InstanceDetail } from './instance.js';
import { IncidentList } from './incidents.js';
import { BatchDetail, BatchList } from './batch.js';
import { TaskInbox } from './tasks.js';
import { useCounts } from './counts.js';

function SignIn({ onSignedIn, oidc, notice }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (await tokenWorks(token.trim())) {
        session.signIn(token.trim());
        onSignedIn();
      } else setError('This token is not valid.');
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  };
  const signInWithProvider = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await startSignIn(oidc.config);
    } catch (failure) {
      setError(failure.message);
      setBusy(false);
    }
  };
  return html`
    <main class="sign-in">
      <div class="card sign-in-card">
        <h1>Operon cockpit</h1>
        ${notice ? html`<p class="error" role="alert">${notice}</p>` : null}
        ${
          oidc.config
            ? html`<section class="sso">
                <button type="button" class="primary" onClick=${signInWithProvider} disabled=${busy}>Sign in with single sign-on</button>
                <p class="muted">at ${new URL(oidc.config.issuer).host}</p>
              </section>`
            : null
        }
        ${oidc.error ? html`<p class="error" role="alert">Single sign-on is unavailable: ${oidc.error}</p>` : null}
        <form onSubmit=${submit}>
          <p>${oidc.config ? 'Or sign in' : 'Sign in'} with the API token (<code>OPERON_API_TOKEN</code>, or the token
            <code>operon start</code> printed). It is kept in this browser tab only.</p>
          <label>API token <input type="password" name="token" autocomplete="current-password" value=${token}
            onInput=${(e) => setToken(e.target.value)} required autofocus=${!oidc.config} /></label>
          ${error ? html`<p class="error" role="alert">${error}</p>` : null}
          <button type="submit" disabled=${busy}>Sign in</button>
        </form>
      </div>
    </main>`;
}

function useRoute() {
  const read = () => (location.hash.replace(/^#/, '') || '/processes').split('?');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const listener = () => setRoute(read());
    window.addEventListener('hashchange', listener);
    return () => window.removeEventListener('hashchange', listener);
  }, []);
  const [path, query = ''] = route;
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(query) };
}

function View({ parts, query }) {
  const [section, id] = parts;
  if (section === 'processes' && id) return html`<${ProcessDetail} definitionId=${id} />`;
  if (section === 'instances' && id) return html`<${InstanceDetail} instanceId=${id} />`;
  if (section === 'instances') return html`<${InstanceList} query=${query} />`;
  if (section === 'incidents') return html`<${IncidentList} />`;
  if (section === 'batch' && id) return html`<${BatchDetail} operationId=${id} />`;
  if (section === 'batch') return html`<${BatchList} />`;
  if (section === 'tasks') return html`<${TaskInbox} taskId=${id} />`;
  return html`<${ProcessList} />`;
}

function SignedInAs() {
  const [me, setMe] = useState();
  useEffect(() => {
    api('/api/me').then(setMe, () => {});
  }, []);
  return me ? html`<span class="signed-in-as">Signed in as <strong>${me.id}</strong></span>` : null;
}

function Cockpit() {
  const route = useRoute();
  const counts = useCounts();
  const link = (section, label, count, kind) => html`
    <a href=${`#/${section}`} class=${route.parts[0] === section || (!route.parts[0] && section === 'processes') ? 'current' : ''}>
      ${label}${count ? html` <span class=${`count count-${kind}`} data-count=${section}>${count}</span>` : null}
    </a>`;
  return html`
    <header class="top">
      <a class="brand" href="#/processes">Operon</a>
      <nav>
        ${link('processes', 'Processes')}
        ${link('instances', 'Instances')}
        ${link('incidents', 'Incidents', counts.incidents, 'incident')}
        ${link('tasks', 'Tasks', counts.tasks, 'task')}
        ${link('batch', 'Batch operations')}
      </nav>
      <${SignedInAs} />
      <button class="link" onClick=${() => session.signOut()}>Sign out</button>
    </header>
    <main class="page"><${View} ...${route} /></main>`;
}

const expired = () => Boolean(session.expiresAt() && session.expiresAt() <= Date.now());

function App() {
  const [signedIn, setSignedIn] = useState(() => Boolean(session.token()) && !expired() && !isSignInAnswer());
  const [oidc, setOidc] = useState({ loading: true });
  const [notice, setNotice] = useState(() =>
    session.token() && expired() ? 'Your sign-in has expired; sign in again.' : undefined,
  );
  useEffect(() => {
    if (session.token() && expired()) session.signOut('expired');
    loadAuthConfig().then(
      async (config) => {
        setOidc({ config });
        if (!isSignInAnswer()) return;
        try {
          await completeSignIn(config);
          setNotice(undefined);
          setSignedIn(true);
        } catch (failure) {
          setNotice(failure.message);
        }
      },
      (failure) => {
        setOidc({ error: failure.message });
        if (isSignInAnswer()) completeSignIn(undefined).catch((error) => setNotice(error.message));
      },
    );
    const listener = (event) => {
      setSignedIn(false);
      if (event.detail === 'expired') setNotice('Your sign-in has ended or expired; sign in again.');
    };
    window.addEventListener('operon:signed-out', listener);
    return () => window.removeEventListener('operon:signed-out', listener);
  }, []);
  // An access token with a known lifetime signs out when it runs out, not at the next failed request.
  useEffect(() => {
    const expiresAt = session.expiresAt();
    if (!signedIn || !expiresAt) return;
    const timer = setTimeout(() => session.signOut('expired'), Math.max(0, expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [signedIn]);
  if (signedIn) return html`<${Cockpit} />`;
  if (oidc.loading) return html`<p class="loading">Loading the cockpit…</p>`;
  return html`<${SignIn} oidc=${oidc} notice=${notice} onSignedIn=${() => setSignedIn(true)} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);

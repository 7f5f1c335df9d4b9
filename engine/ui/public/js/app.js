// The cockpit shell: sign-in with the API token, navigation, and a hash router over the views.
import { html, render, useEffect, useState } from './lib.js';
import { session, tokenWorks } from './api.js';
import { ProcessList, ProcessDetail } from './processes.js';
import { InstanceList } from './instances.js';
import { InstanceDetail } from './instance.js';
import { IncidentList } from './incidents.js';
import { TaskInbox } from './tasks.js';
import { useCounts } from './counts.js';

function SignIn({ onSignedIn }) {
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
  return html`
    <main class="sign-in">
      <form onSubmit=${submit} class="card">
        <h1>Operon cockpit</h1>
        <p>Sign in with the API token (<code>OPERON_API_TOKEN</code>, or the token <code>operon start</code> printed).
          It is kept in this browser tab only.</p>
        <label>API token <input type="password" name="token" autocomplete="current-password" value=${token}
          onInput=${(e) => setToken(e.target.value)} required autofocus /></label>
        ${error ? html`<p class="error" role="alert">${error}</p>` : null}
        <button type="submit" disabled=${busy}>Sign in</button>
      </form>
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
  if (section === 'tasks') return html`<${TaskInbox} taskId=${id} />`;
  return html`<${ProcessList} />`;
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
      </nav>
      <button class="link" onClick=${() => session.signOut()}>Sign out</button>
    </header>
    <main class="page"><${View} ...${route} /></main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(session.token()));
  useEffect(() => {
    const listener = () => setSignedIn(false);
    window.addEventListener('operon:signed-out', listener);
    return () => window.removeEventListener('operon:signed-out', listener);
  }, []);
  return signedIn ? html`<${Cockpit} />` : html`<${SignIn} onSignedIn=${() => setSignedIn(true)} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);

// Incidents: what is stuck, why, and the button that tries the element again.
import { html, useState, usePoll, formatTime, ErrorNote, shortId } from './lib.js';
import { api } from './api.js';
import { BatchRetryForm } from './batch.js';

/** Resolve = retry: the engine gives the job its retries back or re-applies the failed step. */
export function RetryButton({ incident, onDone }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  if (incident.state !== 'open') return html`<span class="muted">resolved ${formatTime(incident.resolvedAt)}</span>`;
  const retry = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api(`/api/incidents/${incident.id}/resolve`, { method: 'POST' });
      onDone?.();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<button class="retry" data-incident=${incident.id} disabled=${busy} onClick=${retry}>Retry</button><${ErrorNote} error=${error} />`;
}

export function IncidentList() {
  const [state, setState] = useState('open');
  const { data, error, refresh } = usePoll(() => api(`/api/incidents?state=${state}&limit=500`), [state]);
  const incidents = data?.incidents ?? [];
  return html`
    <h1>Incidents</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>State <select value=${state} onChange=${(e) => setState(e.target.value)}>
        <option value="open">open</option><option value="resolved">resolved</option>
      </select></label>
    </form>
    ${state === 'open' ? html`<${BatchRetryForm} />` : null}
    <${ErrorNote} error=${error} />
    ${data && incidents.length === 0 ? html`<p class="empty">No ${state} incidents.</p>` : null}
    <table class="list incidents">
      <thead><tr><th>Instance</th><th>Element</th><th>Code</th><th>Message</th><th>Raised</th><th></th></tr></thead>
      <tbody>${incidents.map(
        (incident) => html`
        <tr data-incident=${incident.id}>
          <td><a href=${`#/instances/${incident.instanceId}`}><code>${shortId(incident.instanceId)}</code></a></td>
          <td>${incident.elementId}</td>
          <td><code>${incident.code}</code></td>
          <td class="message">${incident.message}</td>
          <td>${formatTime(incident.createdAt)}</td>
          <td><${RetryButton} incident=${incident} onDone=${refresh} /></td>
        </tr>`,
      )}</tbody>
    </table>`;
}

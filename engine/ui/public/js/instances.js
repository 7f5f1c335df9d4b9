// Process instances, filtered by process and state (filters live in the URL so a list can be shared).
import { html, usePoll, formatTime, ErrorNote, shortId, StateBadge } from './lib.js';
import { api } from './api.js';

const STATES = ['', 'active', 'completed', 'terminated'];

export function InstanceList({ query }) {
  const process = query.get('process') ?? '';
  const state = query.get('state') ?? '';
  const incidentsOnly = query.get('incidents') === 'open';
  const { data, error } = usePoll(async () => {
    const params = new URLSearchParams({ limit: '200' });
    if (process) params.set('process', process);
    if (state) params.set('state', state);
    const [{ instances }, { processes }] = await Promise.all([
      api(`/api/instances?${params}`),
      api('/api/processes?limit=500'),
    ]);
    return { instances, processIds: [...new Set(processes.map((p) => p.bpmnProcessId))].sort() };
  }, [process, state]);
  const setFilter = (name, value) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    location.hash = `#/instances?${next}`;
  };
  const instances = (data?.instances ?? []).filter(
    (i) => !incidentsOnly || i.incidents.some((x) => x.state === 'open'),
  );
  return html`
    <h1>Instances</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Process <select name="process" value=${process} onChange=${(e) => setFilter('process', e.target.value)}>
        <option value="">all</option>
        ${(data?.processIds ?? (process ? [process] : [])).map((id) => html`<option value=${id}>${id}</option>`)}
      </select></label>
      <label>State <select name="state" value=${state} onChange=${(e) => setFilter('state', e.target.value)}>
        ${STATES.map((s) => html`<option value=${s}>${s || 'all'}</option>`)}
      </select></label>
      <label class="check"><input type="checkbox" name="incidents" checked=${incidentsOnly}
        onChange=${(e) => setFilter('incidents', e.target.checked ? 'open' : '')} /> with open incidents</label>
    </form>
    <${ErrorNote} error=${error} />
    ${data && instances.length === 0 ? html`<p class="empty">No instances match.</p>` : null}
    <table class="list instances">
      <thead><tr><th>Instance</th><th>Process</th><th>Business key</th><th>State</th><th>Waiting at</th><th>Started</th><th>Ended</th></tr></thead>
      <tbody>${instances.map((i) => {
        const open = i.incidents.filter((x) => x.state === 'open').length;
        return html`
          <tr data-instance=${i.instanceId}>
            <td><a href=${`#/instances/${i.instanceId}`}><code>${shortId(i.instanceId)}</code></a></td>
            <td>${i.bpmnProcessId} <small>v${i.version}</small></td>
            <td>${i.businessKey ?? ''}</td>
            <td><${StateBadge} state=${i.state} />${open ? html` <span class="state state-incident">${open} incident${open > 1 ? 's' : ''}</span>` : null}</td>
            <td>${i.elements
              .filter((e) => e.state === 'active')
              .map((e) => e.elementName ?? e.elementId)
              .join(', ')}</td>
            <td>${formatTime(i.startedAt)}</td>
            <td>${formatTime(i.endedAt)}</td>
          </tr>`;
      })}</tbody>
    </table>`;
}

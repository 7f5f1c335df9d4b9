// Deployed processes with their versions, and one version's diagram with counts per element.
import { html, usePoll, formatTime, ErrorNote, shortId, StateBadge } from './lib.js';
import { api } from './api.js';
import { Diagram } from './diagram.js';

async function loadProcesses() {
  const [{ processes }, { definitions }] = await Promise.all([
    api('/api/processes?limit=500'),
    api('/api/ui/statistics'),
  ]);
  const stats = new Map(definitions.map((d) => [d.definitionId, d]));
  const byProcess = new Map();
  for (const process of processes) {
    const versions = byProcess.get(process.bpmnProcessId) ?? [];
    versions.push({
      ...process,
      stats: stats.get(process.definitionId) ?? { active: 0, completed: 0, terminated: 0, incidents: 0 },
    });
    byProcess.set(process.bpmnProcessId, versions);
  }
  for (const versions of byProcess.values()) versions.sort((a, b) => b.version - a.version);
  return [...byProcess.values()];
}

export function ProcessList() {
  const { data, error } = usePoll(loadProcesses);
  return html`
    <h1>Processes</h1>
    <${ErrorNote} error=${error} />
    ${data && data.length === 0 ? html`<p class="empty">Nothing deployed yet: <code>npx operon deploy FILE.bpmn</code>.</p>` : null}
    <table class="list processes">
      <thead><tr><th>Process</th><th>Version</th><th>Deployed</th><th>Active</th><th>Incidents</th><th>Completed</th><th>Webhook</th></tr></thead>
      <tbody>
        ${(data ?? []).flatMap((versions) =>
          versions.map(
            (p, index) => html`
          <tr class=${index === 0 ? 'latest' : 'older'} data-process=${p.bpmnProcessId} data-version=${p.version}>
            <td>${index === 0 ? html`<a href=${`#/processes/${p.definitionId}`}><strong>${p.name ?? p.bpmnProcessId}</strong></a> <code>${p.bpmnProcessId}</code>` : null}</td>
            <td><a href=${`#/processes/${p.definitionId}`}>v${p.version}</a></td>
            <td>${formatTime(p.deployedAt)}</td>
            <td><a href=${`#/instances?process=${encodeURIComponent(p.bpmnProcessId)}&state=active`}>${p.stats.active}</a></td>
            <td class=${p.stats.incidents ? 'has-incidents' : ''}>${p.stats.incidents}</td>
            <td>${p.stats.completed}</td>
            <td>${p.webhook}</td>
          </tr>`,
          ),
        )}
      </tbody>
    </table>`;
}

async function loadProcess(definitionId) {
  const [{ processes }, { elements }, { instances }] = await Promise.all([
    api('/api/processes?limit=500'),
    api(`/api/ui/definitions/${definitionId}/statistics`),
    api(`/api/instances?limit=50&state=active`),
  ]);
  const process = processes.find((p) => p.definitionId === definitionId);
  const versions = processes
    .filter((p) => p.bpmnProcessId === process?.bpmnProcessId)
    .sort((a, b) => b.version - a.version);
  return { process, versions, elements, instances: instances.filter((i) => i.definitionId === definitionId) };
}

function decorationOf(elements) {
  const markers = {};
  const badges = [];
  for (const element of elements) {
    if (element.active)
      badges.push({
        elementId: element.elementId,
        kind: 'active',
        count: element.active,
        title: `${element.active} active`,
      });
    if (element.incidents) {
      badges.push({
        elementId: element.elementId,
        kind: 'incident',
        count: element.incidents,
        title: `${element.incidents} open incidents`,
      });
      markers[element.elementId] = ['incident'];
    }
  }
  return { markers, badges };
}

export function ProcessDetail({ definitionId }) {
  const { data, error } = usePoll(() => loadProcess(definitionId), [definitionId]);
  const process = data?.process;
  return html`
    <p class="crumbs"><a href="#/processes">Processes</a> ›</p>
    <h1>${process ? html`${process.name ?? process.bpmnProcessId} <small>v${process.version}</small>` : 'Process'}</h1>
    <${ErrorNote} error=${error} />
    ${
      data?.versions.length > 1
        ? html`<p class="versions">Versions: ${data.versions.map(
            (v) => html`
      <a class=${v.definitionId === definitionId ? 'current' : ''} href=${`#/processes/${v.definitionId}`}>v${v.version}</a> `,
          )}</p>`
        : null
    }
    <${Diagram} definitionId=${definitionId} decoration=${decorationOf(data?.elements ?? [])} />
    <h2>Active instances of this version</h2>
    ${data && data.instances.length === 0 ? html`<p class="empty">None.</p>` : null}
    <table class="list">
      <tbody>${(data?.instances ?? []).map(
        (i) => html`
        <tr><td><a href=${`#/instances/${i.instanceId}`}>${shortId(i.instanceId)}</a></td><td>${i.businessKey ?? ''}</td>
          <td><${StateBadge} state=${i.state} /></td><td>${i.elements
            .filter((e) => e.state === 'active')
            .map((e) => e.elementName ?? e.elementId)
            .join(', ')}</td>
          <td>${i.incidents.some((x) => x.state === 'open') ? html`<span class="state state-incident">incident</span>` : ''}</td>
          <td>${formatTime(i.startedAt)}</td></tr>`,
      )}</tbody>
    </table>`;
}

// One instance: its diagram (path taken, active tokens, incidents), incidents with retry,
// variables, decisions (DMN evaluations with their matched rules, and the models' answers), bot runs,
// open tasks and the history timeline.
import {
  html,
  useState,
  usePoll,
  formatTime,
  formatDuration,
  percent,
  ErrorNote,
  StateBadge,
  valueText,
} from './lib.js';
import { api, apiBlob } from './api.js';
import { Diagram } from './diagram.js';
import { RetryButton } from './incidents.js';

async function loadInstance(instanceId) {
  const [instance, { events }, { botRuns }, { tasks }, { evaluations }] = await Promise.all([
    api(`/api/instances/${instanceId}`),
    api(`/api/ui/instances/${instanceId}/history`),
    api(`/api/ui/instances/${instanceId}/bot-runs`),
    api(`/api/tasks?state=open&instanceId=${instanceId}`),
    api(`/api/ui/instances/${instanceId}/decision-evaluations`),
  ]);
  return { instance, events, botRuns, tasks, evaluations };
}

/** Markers and badges for the diagram: completed path, active tokens, open incidents. */
export function instanceDecoration(instance, events) {
  const markers = {};
  const mark = (id, kind) => (markers[id] ??= []).includes(kind) || markers[id].push(kind);
  const active = new Map();
  for (const element of instance.elements) {
    if (element.state === 'active') active.set(element.elementId, (active.get(element.elementId) ?? 0) + 1);
    else if (element.state === 'completed') mark(element.elementId, 'completed');
  }
  for (const event of events) if (event.type === 'flow.taken' && event.elementId) mark(event.elementId, 'taken');
  const badges = [];
  for (const [elementId, count] of active) {
    mark(elementId, 'active');
    badges.push({ elementId, kind: 'active', count, title: `${count} active token${count > 1 ? 's' : ''}` });
  }
  const incidents = new Map();
  for (const incident of instance.incidents)
    if (incident.state === 'open') incidents.set(incident.elementId, (incidents.get(incident.elementId) ?? 0) + 1);
  for (const [elementId, count] of incidents) {
    mark(elementId, 'incident');
    badges.push({ elementId, kind: 'incident', count, title: `${count} open incident${count > 1 ? 's' : ''}` });
  }
  return { markers, badges };
}

function Variables({ variables }) {
  const names = Object.keys(variables).sort();
  if (names.length === 0) return html`<p class="empty">No variables.</p>`;
  return html`<table class="list variables"><tbody>${names.map(
    (name) => html`
    <tr><th>${name}</th><td><pre>${valueText(variables[name])}</pre></td></tr>`,
  )}</tbody></table>`;
}

function Scores({ scores }) {
  const entries = Object.entries(scores ?? {}).sort((a, b) => b[1] - a[1]);
  return html`<div class="scores">${entries.map(
    ([label, p]) => html`
    <div class="score"><span class="label">${label}</span><span class="bar"><i style=${`width:${(p * 100).toFixed(1)}%`}></i></span><span>${percent(p)}</span></div>`,
  )}</div>`;
}

function Decisions({ decisions }) {
  if (decisions.length === 0) return html`<p class="empty">No decisions.</p>`;
  return html`<table class="list decisions">
    <thead><tr><th>Element</th><th>Label</th><th>Confidence</th><th>Scores</th><th>Model</th><th>Reviewed</th></tr></thead>
    <tbody>${decisions.map(
      (d) => html`
      <tr data-decision=${d.id}>
        <td>${d.elementId ?? ''}</td>
        <td><strong>${d.label}</strong>${d.needsReview ? html` <span class="state state-review">needs review</span>` : null}${
          d.reviewReasons?.length
            ? html`<ul class="reasons">${d.reviewReasons.map((reason) => html`<li>${reason}</li>`)}</ul>`
            : null
        }${
          d.grounding
            ? html`<p class="grounding">grounded by the policy on ${Object.entries(d.grounding)
                .map(([name, reading]) => `${name} ${reading.label} ${percent(reading.confidence)}`)
                .join(', ')}</p>`
            : null
        }${
          d.windows && !d.needsReview
            ? html`<p class="windows">read in ${d.windows.length} overlapping parts: ${d.windows
                .map((w) => `${w.start}-${w.end} ${w.label} ${percent(w.confidence)}`)
                .join(', ')}</p>`
            : null
        }</td>
        <td>${percent(d.confidence)} <small>(threshold ${percent(d.threshold)})</small></td>
        <td><${Scores} scores=${d.scores} /></td>
        <td><code>${d.modelName} ${d.modelVersion}</code></td>
        <td class="reviewed">${d.reviewedLabel ? html`<strong>${d.reviewedLabel}</strong> <small>by ${d.reviewedBy ?? '?'}</small>` : html`<span class="muted">not reviewed</span>`}</td>
      </tr>`,
    )}</tbody></table>`;
}

/**
 * Who answered, oldest first: `rule:<decision>/<rule>` for a DMN table whose rules matched,
 * `model:<name>@<version>` for a decision node (as the SQL view decision_answers says it).
 */
export function answeredBy(evaluations, decisions) {
  const answers = [
    ...evaluations.filter((e) => e.decidedBy).map((e) => ({ at: e.at, elementId: e.elementId, by: e.decidedBy })),
    ...decisions.map((d) => ({
      at: d.decidedAt,
      elementId: d.elementId,
      by: `model:${d.modelName}@${d.modelVersion}`,
    })),
  ];
  return answers.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

function DecisionEvaluations({ evaluations }) {
  if (evaluations.length === 0) return html`<p class="empty">No decision tables evaluated.</p>`;
  return html`<table class="list decision-evaluations">
    <thead><tr><th>Element</th><th>Decision</th><th>Inputs</th><th>Matched rules</th><th>Output</th></tr></thead>
    <tbody>${evaluations.map(
      (e) => html`
      <tr data-evaluation=${e.id}>
        <td>${e.elementId}</td>
        <td><strong>${e.decisionName ?? e.decisionId}</strong> <small><code>${e.decisionId}</code> v${e.version}</small>
          ${e.evaluated.length > 1 ? html`<div class="muted">required: ${e.evaluated.slice(0, -1).map((d) => html`<code>${d.decisionId}</code> `)}</div>` : null}</td>
        <td><pre>${valueText(e.inputs)}</pre></td>
        <td class="matched-rules">${
          e.matchedRuleIds.length
            ? e.matchedRuleIds.map((id) => html`<code class="rule">${id}</code> `)
            : html`<span class="muted">no rule matched</span>`
        }</td>
        <td class="output"><pre>${valueText(e.output)}</pre></td>
      </tr>`,
    )}</tbody></table>`;
}

async function download(path, name) {
  const url = URL.createObjectURL(await apiBlob(path));
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Screenshot({ run }) {
  const [url, setUrl] = useState();
  const [error, setError] = useState();
  const show = async () => {
    try {
      setUrl(URL.createObjectURL(await apiBlob(`/api/ui/bot-runs/${run.id}/screenshot`)));
    } catch (failure) {
      setError(failure);
    }
  };
  if (url)
    return html`<a href=${url} target="_blank" rel="noopener"><img class="screenshot" src=${url} alt=${`Screenshot of bot run ${run.id}`} /></a>`;
  return html`<button class="link" onClick=${show}>show screenshot</button><${ErrorNote} error=${error} />`;
}

function BotRuns({ runs }) {
  if (runs.length === 0) return html`<p class="empty">No bot runs.</p>`;
  return html`<table class="list bot-runs">
    <thead><tr><th>Element</th><th>Bot</th><th>Attempt</th><th>Outcome</th><th>Duration</th><th>Started</th><th>Screenshot</th><th>Trace</th></tr></thead>
    <tbody>${runs.map(
      (run) => html`
      <tr data-bot-run=${run.id}>
        <td>${run.elementId ?? ''}</td><td>${run.bot ?? ''}</td><td>${run.attempt ?? ''}</td>
        <td><span class=${`state state-${run.outcome}`}>${run.outcome ?? ''}</span>${run.errorCode ? html` <code>${run.errorCode}</code>` : null}
          ${run.error ? html`<div class="message">${run.error}</div>` : null}
          ${run.blockedRequests ? html`<div class="message">${run.blockedRequests} request${run.blockedRequests > 1 ? 's' : ''} blocked by the egress policy</div>` : null}</td>
        <td>${formatDuration(run.durationMs)}</td><td>${formatTime(run.startedAt)}</td>
        <td>${run.hasScreenshot ? html`<${Screenshot} run=${run} />` : ''}</td>
        <td>${run.hasTrace ? html`<button class="link" onClick=${() => download(`/api/ui/bot-runs/${run.id}/trace`, `trace-${run.id}.zip`)}>download trace</button>` : ''}</td>
      </tr>`,
    )}</tbody></table>`;
}

function Timeline({ events }) {
  if (events.length === 0) return html`<p class="empty">No history.</p>`;
  return html`<ol class="timeline">${[...events].reverse().map(
    (event) => html`
    <li data-event=${event.type}><time>${formatTime(event.at)}</time> <span class="event">${event.type}</span> ${event.elementId ? html`<code>${event.elementId}</code>` : null}</li>`,
  )}</ol>`;
}

export function InstanceDetail({ instanceId }) {
  const { data, error, refresh } = usePoll(() => loadInstance(instanceId), [instanceId]);
  const [selected, setSelected] = useState();
  if (!data)
    return html`<p class="crumbs"><a href="#/instances">Instances</a> ›</p><${ErrorNote} error=${error} />${error ? null : html`<p class="loading">Loading…</p>`}`;
  const { instance, events, botRuns, tasks, evaluations } = data;
  const answers = answeredBy(evaluations, instance.decisions ?? []);
  const openIncidents = instance.incidents.filter((i) => i.state === 'open');
  const shownEvents = selected ? events.filter((e) => e.elementId === selected) : events;
  return html`
    <p class="crumbs"><a href="#/instances">Instances</a> › <a href=${`#/instances?process=${encodeURIComponent(instance.bpmnProcessId)}`}>${instance.bpmnProcessId}</a> ›</p>
    <h1>Instance <code>${instance.instanceId}</code></h1>
    <${ErrorNote} error=${error} />
    <dl class="facts">
      <dt>State</dt><dd class="instance-state"><${StateBadge} state=${instance.state} />${openIncidents.length ? html` <span class="state state-incident">${openIncidents.length} open incident${openIncidents.length > 1 ? 's' : ''}</span>` : null}</dd>
      <dt>Process</dt><dd><a href=${`#/processes/${instance.definitionId}`}>${instance.bpmnProcessId} v${instance.version}</a></dd>
      ${instance.businessKey ? html`<dt>Business key</dt><dd>${instance.businessKey}</dd>` : null}
      <dt>Started</dt><dd>${formatTime(instance.startedAt)}</dd>
      ${instance.endedAt ? html`<dt>Ended</dt><dd>${formatTime(instance.endedAt)}</dd>` : null}
      ${answers.length ? html`<dt>Answered by</dt><dd class="answered-by">${answers.map((a) => html`<code title=${a.elementId}>${a.by}</code> `)}</dd>` : null}
    </dl>
    <${Diagram} definitionId=${instance.definitionId} decoration=${instanceDecoration(instance, events)} onSelect=${setSelected} />
    ${
      openIncidents.length
        ? html`<section class="incidents"><h2>Incidents</h2>${openIncidents.map(
            (incident) => html`
      <div class="incident card" data-incident=${incident.id}>
        <p><strong>${incident.elementId}</strong> <code>${incident.code}</code> <small>${formatTime(incident.createdAt)}</small></p>
        <p class="message">${incident.message}</p>
        <${RetryButton} incident=${incident} onDone=${refresh} />
      </div>`,
          )}</section>`
        : null
    }
    ${
      tasks.length
        ? html`<section><h2>Waiting for people</h2><ul>${tasks.map(
            (task) => html`
      <li><a href=${`#/tasks/${task.id}`}>${task.name ?? task.elementId}</a>${task.assignee ? html` <small>claimed by ${task.assignee}</small>` : null}</li>`,
          )}</ul></section>`
        : null
    }
    <div class="columns">
      <section><h2>Variables</h2><${Variables} variables=${instance.variables} /></section>
      <section>
        <h2>History ${selected ? html`<small>of ${selected} <button class="link" onClick=${() => setSelected(undefined)}>show all</button></small>` : null}</h2>
        <${Timeline} events=${shownEvents} />
      </section>
    </div>
    <section><h2>Decision tables (DMN)</h2><${DecisionEvaluations} evaluations=${evaluations} /></section>
    <section><h2>Decisions (models)</h2><${Decisions} decisions=${instance.decisions ?? []} /></section>
    <section><h2>Bot runs</h2><${BotRuns} runs=${botRuns} /></section>`;
}

// Batch operations: the list with progress, one operation's per-instance results, and the form that
// retries every incident a filter matches (with a dry run first: how many instances, before anything runs).
import { html, useState, usePoll, formatTime, ErrorNote, shortId } from './lib.js';
import { api } from './api.js';

const FILTER_FIELDS = [
  ['bpmnProcessId', 'Process'],
  ['version', 'Version'],
  ['elementId', 'Element'],
  ['incidentType', 'Incident type'],
  ['businessKey', 'Business key'],
];

function filterText(filter) {
  return FILTER_FIELDS.filter(([field]) => filter?.[field] !== undefined)
    .map(([field, label]) => `${label.toLowerCase()} ${filter[field]}`)
    .join(', ');
}

function Progress({ progress }) {
  const { total, done, failed, skipped } = progress;
  const finished = done + failed + skipped;
  const width = total === 0 ? 100 : Math.round((finished / total) * 100);
  return html`
    <span class="progress" data-progress=${`${finished}/${total}`}>
      <span class="bar"><span class="fill" style=${`width:${width}%`}></span></span>
      ${finished} / ${total}
      ${done ? html` <span class="done">${done} done</span>` : null}
      ${failed ? html` <span class="failed">${failed} failed</span>` : null}
      ${skipped ? html` <span class="muted">${skipped} skipped</span>` : null}
    </span>`;
}

/** Retry every open incident a filter matches: preview (dry run) first, then one batch operation. */
export function BatchRetryForm({ initial = {} }) {
  const [filter, setFilter] = useState(() => ({ ...initial }));
  const [preview, setPreview] = useState();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  const body = () => {
    const cleaned = {};
    for (const [field] of FILTER_FIELDS) {
      const value = (filter[field] ?? '').trim();
      if (value !== '') cleaned[field] = field === 'version' ? Number(value) : value;
    }
    return { kind: 'retry', filter: cleaned };
  };
  const run = async (dryRun) => {
    setBusy(true);
    setError(undefined);
    try {
      if (dryRun) setPreview(await api('/api/batch-operations', { method: 'POST', body: { ...body(), dryRun: true } }));
      else {
        const created = await api('/api/batch-operations', { method: 'POST', body: body() });
        location.hash = `#/batch/${created.id}`;
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const set = (field) => (event) => {
    setFilter({ ...filter, [field]: event.target.value });
    setPreview(undefined);
  };
  return html`
    <form class="filters batch-retry" onSubmit=${(e) => e.preventDefault()}>
      <strong>Retry incidents by filter</strong>
      ${FILTER_FIELDS.map(
        ([field, label]) =>
          html`<label>${label} <input name=${field} value=${filter[field] ?? ''} onInput=${set(field)} size=${field === 'version' ? 3 : 14} /></label>`,
      )}
      <button type="button" class="preview" disabled=${busy} onClick=${() => run(true)}>Preview</button>
      <button type="button" class="retry-all" disabled=${busy || !preview || preview.total === 0} onClick=${() => run(false)}>
        Retry ${preview ? preview.total : ''} instance${preview?.total === 1 ? '' : 's'}
      </button>
      ${preview ? html`<span class="preview-result" data-total=${preview.total}>${preview.total} instance(s) with matching open incidents${preview.truncated ? ' (first 500 listed)' : ''}</span>` : null}
      <${ErrorNote} error=${error} />
    </form>`;
}

export function BatchList() {
  const { data, error } = usePoll(() => api('/api/batch-operations?limit=100'));
  const operations = data?.operations ?? [];
  return html`
    <h1>Batch operations</h1>
    <${BatchRetryForm} />
    <${ErrorNote} error=${error} />
    ${data && operations.length === 0 ? html`<p class="empty">No batch operations yet.</p>` : null}
    <table class="list batch-operations">
      <thead><tr><th>Operation</th><th>Kind</th><th>Filter</th><th>State</th><th>Progress</th><th>By</th><th>Created</th></tr></thead>
      <tbody>${operations.map(
        (operation) => html`
        <tr data-batch=${operation.id}>
          <td><a href=${`#/batch/${operation.id}`}><code>${shortId(operation.id)}</code></a></td>
          <td>${operation.kind}${operation.kind === 'migrate' && operation.request ? ` → v${operation.request.version}` : ''}</td>
          <td>${filterText(operation.filter)}</td>
          <td>${operation.state}</td>
          <td><${Progress} progress=${operation.progress} /></td>
          <td>${operation.createdBy ?? ''}</td>
          <td>${formatTime(operation.createdAt)}</td>
        </tr>`,
      )}</tbody>
    </table>`;
}

export function BatchDetail({ operationId }) {
  const [state, setState] = useState('');
  const { data, error } = usePoll(async () => {
    const [operation, items] = await Promise.all([
      api(`/api/batch-operations/${operationId}`),
      api(`/api/batch-operations/${operationId}/items?limit=500${state ? `&state=${state}` : ''}`),
    ]);
    return { operation, items: items.items };
  }, [operationId, state]);
  const operation = data?.operation;
  return html`
    <p><a href="#/batch">← Batch operations</a></p>
    <h1>Batch ${operation?.kind ?? ''} <code>${shortId(operationId)}</code></h1>
    <${ErrorNote} error=${error} />
    ${
      operation
        ? html`<p class="facts">
        <span data-state=${operation.state}>${operation.state}</span> ·
        <${Progress} progress=${operation.progress} /> · ${filterText(operation.filter)} ·
        created ${formatTime(operation.createdAt)}${operation.createdBy ? ` by ${operation.createdBy}` : ''}
        ${operation.finishedAt ? ` · finished ${formatTime(operation.finishedAt)}` : ''}</p>`
        : null
    }
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Items <select value=${state} onChange=${(e) => setState(e.target.value)}>
        <option value="">all</option>
        ${['pending', 'retried', 'done', 'failed', 'skipped'].map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
    </form>
    <table class="list batch-items">
      <thead><tr><th>#</th><th>Instance</th><th>State</th><th>Result</th><th>Done</th></tr></thead>
      <tbody>${(data?.items ?? []).map(
        (item) => html`
        <tr data-item=${item.instanceId} data-state=${item.state}>
          <td>${item.seq}</td>
          <td><a href=${`#/instances/${item.instanceId}`}><code>${shortId(item.instanceId)}</code></a></td>
          <td class=${`item-${item.state}`}>${item.state}</td>
          <td class="message">${item.error ?? item.result ?? ''}${item.details?.elementId ? html` <code>${item.details.elementId}</code>` : null}</td>
          <td>${item.doneAt ? formatTime(item.doneAt) : ''}</td>
        </tr>`,
      )}</tbody>
    </table>`;
}

// Batch operations: the list with progress, one operation's per-instance results, the form that
// retries every incident a filter matches, and the form that cancels, migrates or modifies every
// instance a filter matches (each with a dry run first, and the destructive ones with a confirmation).
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
    return { kind: 'retry', filter: filterOf(filter) };
  };
  const run = async (dryRun) => {
    setBusy(true);
    setError(undefined);
    try {
      await submitBatch(body(), dryRun, setPreview);
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

/** What each kind of the batch action form does, in the words of its buttons and its confirmation. */
const ACTIONS = {
  cancel: {
    verb: 'Cancel',
    warning: 'Cancelled instances end for good: their jobs, timers and tasks are withdrawn.',
  },
  migrate: {
    verb: 'Migrate',
    warning: 'Migrated instances continue on the target version; a migration is not undone.',
  },
  modify: {
    verb: 'Modify',
    warning: 'Terminated element instances do not come back; activated elements run at once.',
  },
};

const ids = (text) =>
  (text ?? '')
    .split(/[\s,]+/)
    .map((id) => id.trim())
    .filter((id) => id !== '');

/** `source -> target` (or `source = target`), one per line or comma-separated. */
export function parseMappings(text) {
  const mappings = [];
  for (const entry of (text ?? '').split(/[\n,]+/)) {
    if (entry.trim() === '') continue;
    const parts = entry.split(/->|→|=/).map((part) => part.trim());
    if (parts.length !== 2 || parts.some((part) => part === '' || /\s/.test(part)))
      throw new Error(`Element mapping: '${entry.trim()}' is not source -> target`);
    mappings.push({ sourceElementId: parts[0], targetElementId: parts[1] });
  }
  return mappings;
}

function PreviewItems({ preview }) {
  const counts = {};
  for (const item of preview.items) counts[item.state] = (counts[item.state] ?? 0) + 1;
  const matched = `${preview.total} instance${preview.total === 1 ? '' : 's'} match${preview.total === 1 ? 'es' : ''}`;
  const outcome = Object.entries(counts)
    .map(([state, n]) => `${n} would be ${state}`)
    .join(', ');
  return html`
    <div class="batch-preview">
      <span class="preview-result" data-total=${preview.total}>
        ${`${matched}${preview.truncated ? ' (first 500 listed)' : ''}${outcome ? `: ${outcome}` : ''}`}
      </span>
      ${
        preview.items.length > 0
          ? html`<table class="list batch-preview-items">
        <thead><tr><th>Instance</th><th>Would be</th><th>Result</th></tr></thead>
        <tbody>${preview.items.slice(0, 50).map(
          (item) => html`
          <tr data-preview-item=${item.instanceId} data-state=${item.state}>
            <td><a href=${`#/instances/${item.instanceId}`}><code>${shortId(item.instanceId)}</code></a></td>
            <td class=${`item-${item.state}`}>${item.state}</td>
            <td class="message">${item.error ?? item.result ?? ''}${item.details?.elementId ? html` <code>${item.details.elementId}</code>` : null}${(
              item.details?.elements ?? []
            ).map((moved) => html` <code>${moved.sourceElementId} → ${moved.targetElementId}</code>`)}</td>
          </tr>`,
        )}</tbody>
      </table>`
          : null
      }
      ${preview.items.length > 50 ? html`<p class="muted">The first 50 of ${preview.items.length} listed.</p>` : null}
    </div>`;
}

/** The filter fields the user filled in, trimmed; `version` as a number. */
function filterOf(values) {
  const filter = {};
  for (const [field] of FILTER_FIELDS) {
    const value = (values[field] ?? '').trim();
    if (value !== '') filter[field] = field === 'version' ? Number(value) : value;
  }
  return filter;
}

/** A dry run shows its preview; otherwise the batch operation is created and opened. */
async function submitBatch(request, dryRun, setPreview) {
  if (dryRun) {
    setPreview(await api('/api/batch-operations', { method: 'POST', body: { ...request, dryRun: true } }));
    return;
  }
  const created = await api('/api/batch-operations', { method: 'POST', body: request });
  location.hash = `#/batch/${created.id}`;
}

/**
 * Cancel, migrate or modify every active instance a filter matches: Preview is a dry run that shows
 * what each instance would end as; the action then asks for a confirmation before it creates the
 * batch operation and opens it.
 */
export function BatchActionForm() {
  const [kind, setKind] = useState('cancel');
  const [fields, setFields] = useState({});
  const [preview, setPreview] = useState();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  const action = ACTIONS[kind];
  const body = () => {
    const filter = filterOf(fields);
    const request = { kind, filter };
    if (kind === 'migrate') {
      const mappings = parseMappings(fields.mappings);
      request.migration = {
        targetProcessDefinition: {
          bpmnProcessId: filter.bpmnProcessId,
          version: Number((fields.targetVersion ?? '').trim()),
        },
        ...(mappings.length > 0 ? { mappings } : {}),
      };
    }
    if (kind === 'modify') {
      const activate = ids(fields.activate);
      const terminateElementIds = ids(fields.terminate);
      request.modification = {
        ...(activate.length > 0 ? { activate } : {}),
        ...(terminateElementIds.length > 0 ? { terminateElementIds } : {}),
      };
    }
    return request;
  };
  const run = async (dryRun) => {
    setBusy(true);
    setError(undefined);
    try {
      await submitBatch(body(), dryRun, setPreview);
    } catch (failure) {
      setError(failure);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  const changed = () => {
    setPreview(undefined);
    setConfirming(false);
  };
  const set = (field) => (event) => {
    setFields({ ...fields, [field]: event.target.value });
    changed();
  };
  const input = (field, label, size = 14) =>
    html`<label>${label} <input name=${field} value=${fields[field] ?? ''} onInput=${set(field)} size=${size} /></label>`;
  const count = preview ? `${preview.total} instance${preview.total === 1 ? '' : 's'}` : 'instances';
  return html`
    <form class="filters batch-action" data-kind=${kind} onSubmit=${(e) => e.preventDefault()}>
      <div class="batch-action-fields">
        <strong>Cancel, migrate or modify by filter</strong>
        <label>Operation <select name="kind" value=${kind} onChange=${(e) => {
          setKind(e.target.value);
          changed();
        }}>
          ${Object.keys(ACTIONS).map((k) => html`<option value=${k}>${k}</option>`)}
        </select></label>
        ${FILTER_FIELDS.map(([field, label]) => input(field, label, field === 'version' ? 3 : 14))}
      </div>
      ${
        kind === 'migrate'
          ? html`<div class="batch-action-fields">
        ${input('targetVersion', 'Target version', 3)}
        <label>Element mapping <textarea name="mappings" rows="2" cols="32" placeholder="old-task -> new-task" value=${fields.mappings ?? ''} onInput=${set('mappings')}></textarea></label>
        <span class="muted">elements with the same id map to themselves</span>
      </div>`
          : null
      }
      ${
        kind === 'modify'
          ? html`<div class="batch-action-fields">
        ${input('activate', 'Activate elements', 24)} ${input('terminate', 'Terminate elements', 24)}
      </div>`
          : null
      }
      <div class="batch-action-fields">
        <button type="button" class="preview" disabled=${busy} onClick=${() => run(true)}>Preview</button>
        <button type="button" class="retry" disabled=${busy || !preview || preview.total === 0 || confirming} onClick=${() => setConfirming(true)}>
          ${action.verb} ${count}
        </button>
      </div>
      ${preview ? html`<${PreviewItems} preview=${preview} />` : null}
      ${
        confirming
          ? html`<div class="confirm" role="alertdialog" aria-label=${`Confirm batch ${kind}`}>
        <strong>${action.verb} ${count}?</strong> ${action.warning}
        <button type="button" class="retry" disabled=${busy} onClick=${() => run(false)}>Yes, ${action.verb.toLowerCase()} ${count}</button>
        <button type="button" disabled=${busy} onClick=${() => setConfirming(false)}>Back</button>
      </div>`
          : null
      }
      <${ErrorNote} error=${error} />
    </form>`;
}

export function BatchList() {
  const { data, error } = usePoll(() => api('/api/batch-operations?limit=100'));
  const operations = data?.operations ?? [];
  return html`
    <h1>Batch operations</h1>
    <${BatchRetryForm} />
    <${BatchActionForm} />
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

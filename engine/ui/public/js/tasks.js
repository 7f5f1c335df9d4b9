// The task inbox: open user tasks, claim, the case as a form, complete.
import {
  html,
  useState,
  useEffect,
  useRef,
  usePoll,
  useLoad,
  formatTime,
  percent,
  ErrorNote,
  shortId,
  valueText,
} from './lib.js';
import { api } from './api.js';

/** Open tasks the inbox lists at once. */
const INBOX_PAGE = 200;

let formJsLoading;
/** form-js is large; loaded only when a task has a Camunda form. */
function loadFormJs() {
  formJsLoading ??= new Promise((resolve, reject) => {
    const style = Object.assign(document.createElement('link'), {
      rel: 'stylesheet',
      href: '/ui/vendor/form-js/assets/form-js.css',
    });
    const script = Object.assign(document.createElement('script'), { src: '/ui/vendor/form-js/form-viewer.umd.js' });
    script.onload = () => resolve(window.FormViewer);
    script.onerror = () => reject(new Error('form-js could not be loaded'));
    document.head.append(style, script);
  });
  return formJsLoading;
}

/** Top-level variables that are a decision node's result: { label, confidence, scores, decisionId, ... }. */
function decisionsIn(variables) {
  return Object.entries(variables).filter(
    ([, value]) =>
      value &&
      typeof value === 'object' &&
      typeof value.label === 'string' &&
      value.scores &&
      typeof value.scores === 'object',
  );
}

function CamundaForm({ schema, variables, formRef }) {
  const container = useRef();
  const [error, setError] = useState();
  useEffect(() => {
    let form;
    let current = true;
    loadFormJs()
      .then(async ({ Form }) => {
        if (!current) return;
        form = new Form({ container: container.current });
        await form.importSchema(schema, variables);
        formRef.current = () => form.submit();
      })
      .catch((failure) => setError(failure));
    return () => {
      current = false;
      formRef.current = undefined;
      form?.destroy();
    };
  }, [schema]);
  return html`<div class="camunda-form" ref=${container}></div><${ErrorNote} error=${error} />`;
}

/** The labels a reviewer may answer with: the model's labels except `review` ("ask a person"), the question itself. */
function answerLabels(decision) {
  return Object.entries(decision.scores)
    .filter(([label]) => label !== 'review')
    .sort((a, b) => b[1] - a[1]);
}

function GeneratedForm({ variables, formRef, reviewer }) {
  const decisions = decisionsIn(variables);
  const decisionNames = new Set(decisions.map(([name]) => name));
  const fields = Object.entries(variables)
    .filter(([name]) => !decisionNames.has(name))
    .sort(([a], [b]) => a.localeCompare(b));
  const [edits, setEdits] = useState({});
  const [reviewedLabel, setReviewedLabel] = useState();
  formRef.current = () => {
    const errors = decisions.length > 0 && !reviewedLabel ? { reviewedLabel: ['Choose a label'] } : {};
    // The answer carries who gave it, as the review contract of the shipped processes asks.
    return {
      data: { ...edits, ...(reviewedLabel ? { reviewedLabel, ...(reviewer ? { reviewer } : {}) } : {}) },
      errors,
    };
  };
  const edit = (name, value) => setEdits((previous) => ({ ...previous, [name]: value }));
  const input = (name, value) => {
    if (typeof value === 'boolean')
      return html`<input type="checkbox" name=${name} checked=${edits[name] ?? value} onChange=${(e) => edit(name, e.target.checked)} />`;
    if (typeof value === 'number')
      return html`<input type="number" step="any" name=${name} value=${edits[name] ?? value} onInput=${(e) => edit(name, e.target.valueAsNumber)} />`;
    if (typeof value === 'string' && value.length > 80)
      return html`<textarea name=${name} rows="3" onInput=${(e) => edit(name, e.target.value)}>${edits[name] ?? value}</textarea>`;
    if (typeof value === 'string')
      return html`<input type="text" name=${name} value=${edits[name] ?? value} onInput=${(e) => edit(name, e.target.value)} />`;
    return html`<pre class="readonly">${valueText(value)}</pre>`;
  };
  return html`
    <fieldset class="case"><legend>Case</legend>
      ${fields.length === 0 ? html`<p class="empty">The task has no variables.</p>` : null}
      ${fields.map(([name, value]) => html`<label class="field"><span>${name}</span>${input(name, value)}</label>`)}
    </fieldset>
    ${decisions.map(
      ([name, decision]) => html`
      <fieldset class="review" data-decision=${decision.decisionId ?? name}><legend>Review: the model said <strong>${decision.label}</strong> (${percent(decision.confidence)})</legend>
        ${answerLabels(decision).map(
          ([label, p]) => html`
          <label class="choice"><input type="radio" name="reviewedLabel" value=${label} checked=${reviewedLabel === label}
            onChange=${() => setReviewedLabel(label)} /> ${label} <small>${percent(p)}</small></label>`,
        )}
        ${decision.modelVersion ? html`<p class="muted">model ${decision.modelVersion}</p>` : null}
      </fieldset>`,
    )}`;
}

/** The inbox lists tasks without their variables: the card reads the whole task. */
function TaskDetail({ taskId, listed, onChanged }) {
  const { data: task, error } = useLoad(() => api(`/api/tasks/${taskId}`), [taskId]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!task) return html`<p class="loading">Loading the task…</p>`;
  // Held by its task listeners (an assignment, update, completion or cancellation waits for their jobs).
  if (['assigning', 'updating', 'completing', 'canceling'].includes(task.state))
    return html`<p class="empty">Waiting for this task's ${task.state} listeners.</p>`;
  if (task.state !== 'open' || listed === null) return html`<p class="empty">This task is no longer open.</p>`;
  // The polled summary carries claims made since the task was read.
  return html`<${TaskCard} key=${task.id} task=${listed ? { ...listed, variables: task.variables } : task} onChanged=${onChanged} />`;
}

function TaskCard({ task, onChanged }) {
  const { data: form, error: formError } = useLoad(() => api(`/api/ui/tasks/${task.id}/form`), [task.id]);
  // Who is signed in comes from the sign-in (GET /api/me), never from a typed name.
  const { data: me } = useLoad(() => api('/api/me'), []);
  const userName = me?.id ?? '';
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const formRef = useRef();
  const act = async (action) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onChanged();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const claim = (assignee) =>
    act(() => api(`/api/ui/tasks/${task.id}/claim`, { method: 'POST', body: assignee === null ? { assignee } : {} }));
  const complete = (event) => {
    event.preventDefault();
    const result = formRef.current?.();
    if (!result) return;
    const problems = Object.entries(result.errors ?? {}).filter(([, list]) => list?.length);
    if (problems.length)
      return setError(new Error(problems.map(([field, list]) => `${field}: ${list.join(', ')}`).join('; ')));
    return act(async () => {
      await api(`/api/ui/tasks/${task.id}/complete`, { method: 'POST', body: { variables: result.data } });
      location.hash = `#/instances/${task.instanceId}`;
    });
  };
  const mine = userName && task.assignee === userName;
  return html`
    <article class="task card" data-task=${task.id}>
      <h2>${task.name ?? task.elementId}</h2>
      <p class="muted">Instance <a href=${`#/instances/${task.instanceId}`}><code>${shortId(task.instanceId)}</code></a> · element <code>${task.elementId}</code> · since ${formatTime(task.createdAt)}
        ${task.candidateGroups?.length ? html` · for ${task.candidateGroups.join(', ')}` : null}</p>
      <div class="claim">
        <span class="muted">Signed in as <strong class="me">${userName}</strong></span>
        ${task.assignee ? html`<span class="assignee">Claimed by <strong>${task.assignee}</strong></span>` : html`<span class="muted">Unclaimed</span>`}
        ${!mine ? html`<button type="button" disabled=${busy || !userName} onClick=${() => claim(userName)}>Claim</button>` : null}
        ${task.assignee ? html`<button type="button" class="link" disabled=${busy} onClick=${() => claim(null)}>Unclaim</button>` : null}
      </div>
      <${ErrorNote} error=${formError} />
      <form onSubmit=${complete}>
        ${
          form === undefined
            ? html`<p class="loading">Loading the form…</p>`
            : form.schema
              ? html`<${CamundaForm} schema=${form.schema} variables=${task.variables} formRef=${formRef} />`
              : html`<${GeneratedForm} key=${task.id} variables=${task.variables} formRef=${formRef} reviewer=${userName} />`
        }
        <${ErrorNote} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>Complete</button>
      </form>
    </article>`;
}

export function TaskInbox({ taskId }) {
  const { data, error, refresh } = usePoll(() => api(`/api/tasks?state=open&limit=${INBOX_PAGE}`));
  const tasks = data?.tasks ?? [];
  const selected = tasks.find((t) => t.id === taskId);
  // null: the whole inbox is listed and the task is not in it (completed meanwhile); undefined: not known.
  const listed = selected ?? (data && data.page?.nextOffset == null ? null : undefined);
  return html`
    <h1>Task inbox</h1>
    <${ErrorNote} error=${error} />
    <div class="inbox">
      <ul class="task-list">
        ${data && tasks.length === 0 ? html`<li class="empty">No open tasks.</li>` : null}
        ${data?.page?.nextOffset != null ? html`<li class="empty">The oldest ${tasks.length} open tasks are shown.</li>` : null}
        ${tasks.map(
          (task) => html`
          <li class=${task.id === taskId ? 'current' : ''} data-task=${task.id}>
            <a href=${`#/tasks/${task.id}`}><strong>${task.name ?? task.elementId}</strong>
              <span class="muted">${shortId(task.instanceId)} · ${formatTime(task.createdAt)}</span>
              ${task.assignee ? html`<span class="assignee">${task.assignee}</span>` : null}</a>
          </li>`,
        )}
      </ul>
      <div class="task-detail">
        ${taskId ? html`<${TaskDetail} key=${taskId} taskId=${taskId} listed=${listed} onChanged=${refresh} />` : html`<p class="empty">Pick a task.</p>`}
      </div>
    </div>`;
}

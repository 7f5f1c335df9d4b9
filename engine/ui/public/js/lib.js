// Shared view helpers: preact + htm (prebuilt standalone bundle, no build step), polling, formatting.
import { html, render, useState, useEffect, useRef, useMemo, useCallback } from '/ui/vendor/htm/standalone.module.js';

export { html, render, useState, useEffect, useRef, useMemo, useCallback };

export const POLL_MS = 1500;

/**
 * Loads data now and again every POLL_MS while the view is shown, so the page follows the engine
 * without reloading. Keeps the last good data when a poll fails. Data loaded for other deps (the
 * previous instance, before the new one has loaded) is never returned, not even for the one render
 * between the deps changing and the effect clearing the state.
 */
export function usePoll(load, deps = []) {
  const key = JSON.stringify(deps);
  const [state, setState] = useState({ key, data: undefined, error: undefined });
  const loadRef = useRef(load);
  const refreshRef = useRef(() => {});
  loadRef.current = load;
  useEffect(() => {
    let stopped = false;
    let loaded = false;
    let timer;
    const run = async () => {
      // A hidden tab does not poll; it catches up on the next tick after it is shown again.
      if (document.hidden && loaded) {
        timer = setTimeout(run, POLL_MS);
        return;
      }
      try {
        const data = await loadRef.current();
        loaded = true;
        if (!stopped) setState({ key, data, error: undefined });
      } catch (error) {
        if (!stopped) setState((previous) => ({ key, data: previous.key === key ? previous.data : undefined, error }));
      }
      if (!stopped) timer = setTimeout(run, POLL_MS);
    };
    refreshRef.current = () => {
      clearTimeout(timer);
      run();
    };
    setState({ key, data: undefined, error: undefined });
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
  const current = state.key === key ? state : { data: undefined, error: undefined };
  return { data: current.data, error: current.error, refresh: () => refreshRef.current() };
}

export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function formatDuration(ms) {
  if (ms === undefined || ms === null) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const percent = (p) => (typeof p === 'number' ? `${(p * 100).toFixed(1)} %` : '');
export const shortId = (id) => (id ? id.slice(0, 8) : '');

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.code ? `${error.code}: ` : ''}${error.message}</p>`;
}

export function StateBadge({ state }) {
  return html`<span class=${`state state-${state}`}>${state}</span>`;
}

/** A variable value as text, exactly as the API returned it. */
export function valueText(value) {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** Loads data once per change of deps (for things that do not change, like a task's form). */
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  useEffect(() => {
    let current = true;
    setState({ data: undefined, error: undefined });
    load().then(
      (data) => current && setState({ data, error: undefined }),
      (error) => current && setState({ data: undefined, error }),
    );
    return () => {
      current = false;
    };
  }, deps);
  return state;
}

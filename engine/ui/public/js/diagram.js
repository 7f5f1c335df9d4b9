// The BPMN diagram, drawn by the bpmn-js navigated viewer (window.BpmnJS from its prebuilt bundle),
// with the cockpit's markers and count badges on top.
import { html, useEffect, useRef, useState } from './lib.js';
import { api } from './api.js';

const xmlCache = new Map();

/** The deployed XML of a definition version (immutable, so fetched once per page). */
export function definitionXml(definitionId) {
  if (!xmlCache.has(definitionId)) {
    const loading = api(`/api/definitions/${definitionId}/xml`);
    loading.catch(() => xmlCache.delete(definitionId));
    xmlCache.set(definitionId, loading);
  }
  return xmlCache.get(definitionId);
}

function badge(kind, text, title) {
  const element = document.createElement('span');
  element.className = `operon-badge operon-badge-${kind}`;
  element.textContent = text;
  element.title = title;
  return element;
}

const BADGE_POSITION = {
  active: { bottom: 10, left: -10 },
  incident: { top: -10, right: 10 },
  completed: { bottom: 10, right: 10 },
};

/**
 * decoration: { markers: { [elementId]: ['active' | 'completed' | 'incident' | 'taken'] },
 *               badges: [{ elementId, kind: 'active' | 'incident' | 'completed', count, title }] }
 */
export function Diagram({ definitionId, decoration, onSelect }) {
  const container = useRef();
  const viewer = useRef();
  const [loaded, setLoaded] = useState();
  const [error, setError] = useState();
  const applied = useRef({ markers: [] });

  useEffect(() => {
    viewer.current = new window.BpmnJS({ container: container.current });
    return () => viewer.current.destroy();
  }, []);

  useEffect(() => {
    let current = true;
    setLoaded(undefined);
    definitionXml(definitionId)
      .then((xml) => viewer.current.importXML(xml))
      .then(() => {
        if (!current) return;
        const canvas = viewer.current.get('canvas');
        canvas.zoom('fit-viewport', 'auto');
        // fit-viewport fits the shapes' box edge to edge (and never enlarges): labels under events and
        // the badges above elements lie outside that box and were clipped. Fit to 85% instead, and
        // let small processes grow up to 1.4 so they read better.
        const { inner, outer } = canvas.viewbox();
        const room = Math.min(outer.width / inner.width, outer.height / inner.height) * 0.85;
        canvas.zoom(Math.min(room, 1.4), 'auto');
        applied.current = { markers: [] };
        setLoaded(definitionId);
      })
      .catch((failure) => current && setError(failure));
    return () => {
      current = false;
    };
  }, [definitionId]);

  useEffect(() => {
    if (!onSelect || !loaded) return;
    const eventBus = viewer.current.get('eventBus');
    // A click on the empty canvas (the process itself) clears the selection.
    const listener = (event) => onSelect(event.element.parent ? event.element.id : undefined);
    eventBus.on('element.click', listener);
    return () => eventBus.off('element.click', listener);
  }, [loaded, onSelect]);

  const key = JSON.stringify(decoration ?? {});
  useEffect(() => {
    if (loaded !== definitionId) return;
    const canvas = viewer.current.get('canvas');
    const overlays = viewer.current.get('overlays');
    const registry = viewer.current.get('elementRegistry');
    for (const [id, marker] of applied.current.markers) canvas.removeMarker(id, marker);
    overlays.remove({ type: 'operon' });
    const markers = [];
    for (const [id, kinds] of Object.entries(decoration?.markers ?? {})) {
      if (!registry.get(id)) continue;
      for (const kind of kinds) {
        canvas.addMarker(id, `operon-${kind}`);
        markers.push([id, `operon-${kind}`]);
      }
    }
    for (const { elementId, kind, count, title } of decoration?.badges ?? []) {
      if (!registry.get(elementId) || !count) continue;
      const element = badge(kind, String(count), title);
      element.dataset.elementId = elementId;
      overlays.add(elementId, 'operon', { position: BADGE_POSITION[kind], html: element });
    }
    applied.current = { markers };
  }, [loaded, key]);

  return html`
    <div class="diagram-wrap">
      ${error ? html`<p class="error">The diagram could not be drawn: ${error.message}</p>` : null}
      <div class="diagram" ref=${container} data-loaded=${loaded === definitionId ? 'true' : 'false'}></div>
      <div class="legend">
        <span><i class="swatch swatch-active"></i>active</span>
        <span><i class="swatch swatch-incident"></i>incident</span>
        <span><i class="swatch swatch-completed"></i>completed</span>
      </div>
    </div>`;
}

/**
 * Hostile-input guard in front of bpmn-moddle. `parseDefinitionsSafely` is what the deploy path
 * calls: a linear pre-scan refuses what no honest model contains (DOCTYPE / ENTITY declarations,
 * U+0000, lone surrogates, prototype-reserved ids) and enforces limits (size, nesting depth,
 * element count, attribute length); then large documents are parsed in a worker thread under a
 * time limit, so a slow parse never blocks the event loop. See docs/reliability.md.
 */
import { Worker } from 'node:worker_threads';
import { OperonError } from '../errors.ts';
import type { ProcessGraph } from './graph.ts';
import { parseDefinitions, type ParseOptions } from './parse.ts';

/** Limits of the pre-scan and the parse; each can be set by its environment variable. */
export interface BpmnLimits {
  /** OPERON_BPMN_MAX_BYTES (default 5 MiB, the HTTP body limit). */
  maxBytes: number;
  /** OPERON_BPMN_MAX_DEPTH (default 256 nested elements). */
  maxDepth: number;
  /** OPERON_BPMN_MAX_ELEMENTS (default 50,000 XML elements, diagram included). */
  maxElements: number;
  /** OPERON_BPMN_MAX_ATTRIBUTE (default 65,536 characters per attribute value). */
  maxAttributeLength: number;
  /** OPERON_BPMN_PARSE_TIMEOUT_MS (default 5,000): a parse in the worker thread is stopped after this. */
  parseTimeoutMs: number;
  /** OPERON_BPMN_INLINE_BYTES (default 64 KiB): smaller documents parse on the calling thread (a few ms). */
  inlineBytes: number;
}

function fromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** The limits in force now (environment read on each call, so tests can change them). */
export function bpmnLimits(): BpmnLimits {
  return {
    maxBytes: fromEnv('OPERON_BPMN_MAX_BYTES', 5 * 1024 * 1024),
    maxDepth: fromEnv('OPERON_BPMN_MAX_DEPTH', 256),
    maxElements: fromEnv('OPERON_BPMN_MAX_ELEMENTS', 50_000),
    maxAttributeLength: fromEnv('OPERON_BPMN_MAX_ATTRIBUTE', 65_536),
    parseTimeoutMs: fromEnv('OPERON_BPMN_PARSE_TIMEOUT_MS', 5_000),
    inlineBytes: fromEnv('OPERON_BPMN_INLINE_BYTES', 64 * 1024),
  };
}

/** Ids that would address Object.prototype in a plain-object lookup table. */
const RESERVED_IDS = new Set(['__proto__', 'constructor', 'prototype']);

function unsafe(file: string, reason: string, message: string, extra: Record<string, unknown> = {}): OperonError {
  return new OperonError('OPERON_ERR_BPMN_UNSAFE', `${file}: ${message}`, { details: { file, reason, ...extra } });
}

function lineAt(xml: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (xml.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * One pass over the text, no allocation per element: throws OPERON_ERR_BPMN_UNSAFE with
 * `details.reason` (doctype, nul, lone-surrogate, char-reference, size, depth, elements, attribute,
 * reserved-id) and `details.file`. Not a validating XML parser: whatever passes still goes through
 * bpmn-moddle, which reports malformed XML.
 */
export function prescanBpmn(xml: string, file: string, limits: BpmnLimits = bpmnLimits()): { longestValue: number } {
  if (xml.length > limits.maxBytes)
    throw unsafe(file, 'size', `the file has ${xml.length} characters; the limit is ${limits.maxBytes}`, {
      limit: limits.maxBytes,
    });
  const length = xml.length;
  let depth = 0;
  let elements = 0;
  let longestValue = 0;
  let textStart = 0;
  for (let i = 0; i < length; i++) {
    const c = xml.charCodeAt(i);
    if (c === 0) throw unsafe(file, 'nul', `U+0000 at line ${lineAt(xml, i)}`, { line: lineAt(xml, i) });
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = xml.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw unsafe(file, 'lone-surrogate', `a lone UTF-16 surrogate at line ${lineAt(xml, i)}`, {
        line: lineAt(xml, i),
      });
    }
    if (c === 38 /* & */) {
      checkCharReference(xml, i, file);
      continue;
    }
    if (c !== 60 /* < */) continue;
    longestValue = Math.max(longestValue, i - textStart);
    const next = xml.charCodeAt(i + 1);
    if (next === 33 /* ! */) {
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        i = end === -1 ? length : end + 2;
        continue;
      }
      if (xml.startsWith('<![CDATA[', i)) {
        const end = xml.indexOf(']]>', i + 9);
        // A CDATA section can still hide NUL or surrogates: scan it as text.
        scanText(xml, i + 9, end === -1 ? length : end, file);
        i = end === -1 ? length : end + 2;
        continue;
      }
      // <!DOCTYPE, <!ENTITY, <!ELEMENT ...: declarations are how XXE and billion laughs work; BPMN needs none.
      throw unsafe(
        file,
        'doctype',
        `XML declarations (<!DOCTYPE>, <!ENTITY>) are not accepted (line ${lineAt(xml, i)})`,
        { line: lineAt(xml, i) },
      );
    }
    if (next === 63 /* ? */) {
      const end = xml.indexOf('?>', i + 2);
      i = end === -1 ? length : end + 1;
      continue;
    }
    const closing = next === 47; /* / */
    const end = scanTag(xml, i, file, limits);
    if (end === -1) break;
    longestValue = Math.max(longestValue, end - i);
    if (closing) depth--;
    else if (xml.charCodeAt(end - 1) !== 47) {
      depth++;
      elements++;
    } else elements++;
    if (depth > limits.maxDepth)
      throw unsafe(file, 'depth', `elements are nested deeper than ${limits.maxDepth} (line ${lineAt(xml, i)})`, {
        limit: limits.maxDepth,
      });
    if (elements > limits.maxElements)
      throw unsafe(file, 'elements', `the file has more than ${limits.maxElements} XML elements`, {
        limit: limits.maxElements,
      });
    if (!closing) checkReservedText(xml, end + 1, file);
    i = end;
    textStart = end + 1;
  }
  return { longestValue };
}

/** `&#0;` or `&#xD800;` would smuggle U+0000 or a lone surrogate past the text checks. */
function checkCharReference(xml: string, i: number, file: string): void {
  if (xml.charCodeAt(i + 1) !== 35 /* # */) return;
  const end = xml.indexOf(';', i);
  const ref = xml.slice(i + 2, end === -1 ? i + 12 : Math.min(end, i + 12));
  const code = ref[0] === 'x' || ref[0] === 'X' ? parseInt(ref.slice(1), 16) : parseInt(ref, 10);
  if (!(code > 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
    throw unsafe(
      file,
      'char-reference',
      `the character reference &#${ref}; at line ${lineAt(xml, i)} names no allowed character`,
      { line: lineAt(xml, i) },
    );
  }
}

function scanText(xml: string, from: number, to: number, file: string): void {
  for (let i = from; i < to; i++) {
    const c = xml.charCodeAt(i);
    if (c === 38 /* & */) checkCharReference(xml, i, file);
    if (c === 0) throw unsafe(file, 'nul', `U+0000 at line ${lineAt(xml, i)}`, { line: lineAt(xml, i) });
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = xml.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else
        throw unsafe(file, 'lone-surrogate', `a lone UTF-16 surrogate at line ${lineAt(xml, i)}`, {
          line: lineAt(xml, i),
        });
    }
  }
}

/** Scans one tag from its `<` to its `>`: attribute lengths and reserved ids. Returns the index of `>`, or -1 when the tag never ends. */
function scanTag(xml: string, start: number, file: string, limits: BpmnLimits): number {
  let i = start + 1;
  const length = xml.length;
  while (i < length) {
    const c = xml.charCodeAt(i);
    if (c === 62 /* > */) return i;
    if (c === 34 || c === 39) {
      const close = xml.indexOf(c === 34 ? '"' : "'", i + 1);
      const valueEnd = close === -1 ? length : close;
      if (valueEnd - i - 1 > limits.maxAttributeLength) {
        throw unsafe(
          file,
          'attribute',
          `an attribute value at line ${lineAt(xml, i)} is longer than ${limits.maxAttributeLength} characters`,
          { limit: limits.maxAttributeLength, line: lineAt(xml, i) },
        );
      }
      const name = /([\w:.-]+)\s*=\s*$/.exec(xml.slice(Math.max(start, i - 64), i))?.[1] ?? '';
      const local = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name;
      if (
        local === 'id' ||
        local.endsWith('Ref') ||
        local === 'default' ||
        local === 'processId' ||
        local === 'calledElement'
      ) {
        const value = xml.slice(i + 1, valueEnd).trim();
        if (RESERVED_IDS.has(value))
          throw unsafe(file, 'reserved-id', `"${value}" cannot be an id or a reference (line ${lineAt(xml, i)})`, {
            elementId: value,
            attribute: name,
            line: lineAt(xml, i),
          });
      }
      scanText(xml, i + 1, valueEnd, file);
      i = valueEnd + 1;
      continue;
    }
    if (c === 60 && i > start) break;
    i++;
  }
  // Malformed, not hostile: bpmn-moddle reports it as OPERON_ERR_BPMN_PARSE with its position.
  return -1;
}

/** `<incoming>__proto__</incoming>` would resolve to Object.prototype in a plain-object id table. */
function checkReservedText(xml: string, from: number, file: string): void {
  const end = xml.indexOf('<', from);
  if (end === -1 || end - from > 32) return;
  const text = xml.slice(from, end).trim();
  if (RESERVED_IDS.has(text))
    throw unsafe(file, 'reserved-id', `"${text}" cannot be an id or a reference (line ${lineAt(xml, from)})`, {
      elementId: text,
      line: lineAt(xml, from),
    });
}

/** Files whose every tag and text run is at most this long may parse on the calling thread. */
const INLINE_VALUE_CHARS = 4096;

// ---- parsing off the main thread ------------------------------------------------------------

interface ParseReply {
  id: number;
  /** The worker began this parse: its time limit runs from here. */
  started?: true;
  graphs?: ProcessGraph[];
  error?: { code?: string; message: string; details?: Record<string, unknown> };
}

/**
 * Time a parser thread may take to start (load tsx, bpmn-moddle and the model code) and a parse may
 * wait behind the ones before it: not counted against the parse limit, which measures parsing only.
 */
const STARTUP_MS = 120_000;

interface ParserThread {
  worker: Worker;
  /** Per parse: called with `started` when the worker begins it, then with its result. */
  pending: Map<number, (reply: ParseReply) => void>;
}

let parser: ParserThread | undefined;
let nextId = 1;

/**
 * The parser thread, started once and kept (unref'd while idle, so it never keeps the process
 * alive): starting one costs seconds on a busy machine, which must not count as parse time.
 */
function parserWorker(): ParserThread {
  if (parser) return parser;
  // OPERON_BPMN_PARSER_START_DELAY_MS (tests only): the thread waits that long before it takes work, as on a busy machine.
  const startDelayMs = fromEnv('OPERON_BPMN_PARSER_START_DELAY_MS', 0);
  const worker = new Worker(new URL('./safe-parse-worker.mjs', import.meta.url), {
    resourceLimits: { maxOldGenerationSizeMb: 512 },
    workerData: { startDelayMs },
  });
  worker.unref();
  const started: ParserThread = { worker, pending: new Map() };
  const settleAll = (message: string) => {
    for (const [id, settle] of started.pending) settle({ id, error: { message } });
    started.pending.clear();
    if (parser === started) parser = undefined;
  };
  worker.on('message', (reply: ParseReply) => {
    const settle = started.pending.get(reply.id);
    if (reply.started) return settle?.(reply);
    started.pending.delete(reply.id);
    settle?.(reply);
    if (started.pending.size === 0) worker.unref();
  });
  worker.on('error', (error) => settleAll(`the BPMN parser failed: ${error.message}`));
  worker.on('exit', () => settleAll('the BPMN parser stopped'));
  parser = started;
  return started;
}

/**
 * Starts the parser thread ahead of the first large deployment (the engine calls this when it is
 * created), so that deployment does not wait for it. Idempotent.
 */
export function warmBpmnParser(): void {
  parserWorker();
}

function parseInWorker(xml: string, file: string, options: ParseOptions, timeoutMs: number): Promise<ProcessGraph[]> {
  const w = parserWorker();
  const id = nextId++;
  w.worker.ref();
  return new Promise((resolve, reject) => {
    const abandon = (error: OperonError) => {
      w.pending.delete(id);
      // A parse that outlives its limit is abandoned with its thread; a fresh one starts at once, warm for the next deploy.
      if (parser === w) parser = undefined;
      void w.worker.terminate();
      parserWorker();
      reject(error);
    };
    // Until the worker begins this parse (starting up, or busy with an earlier one) only the startup limit runs.
    let timer = setTimeout(
      () =>
        abandon(unsafe(file, 'parser', `the BPMN parser did not begin within ${STARTUP_MS} ms`, { limit: STARTUP_MS })),
      STARTUP_MS,
    );
    w.pending.set(id, (reply) => {
      clearTimeout(timer);
      if (reply.started) {
        timer = setTimeout(
          () => abandon(unsafe(file, 'timeout', `parsing took longer than ${timeoutMs} ms`, { limit: timeoutMs })),
          timeoutMs,
        );
        return;
      }
      if (reply.graphs) return resolve(reply.graphs);
      const error = reply.error!;
      if (error.code)
        return reject(new OperonError(error.code as OperonError['code'], error.message, { details: error.details }));
      reject(unsafe(file, 'parser', error.message));
    });
    w.worker.postMessage({ id, xml, file, options });
  });
}

/**
 * parseDefinitions behind the hostile-input guard: the pre-scan, then bpmn-moddle on this thread
 * for small files (no run of text over 4,096 characters) or in a worker thread (with a time limit)
 * for the rest. Same result and same
 * errors as parseDefinitions, plus OPERON_ERR_BPMN_UNSAFE.
 */
export async function parseDefinitionsSafely(
  xml: string,
  fileName: string,
  options: ParseOptions = {},
): Promise<ProcessGraph[]> {
  const limits = bpmnLimits();
  if (xml.length <= limits.inlineBytes) {
    // A long expression is slow to check even in a small file (feelin's parser is superlinear on deep nesting).
    if (prescanBpmn(xml, fileName, limits).longestValue <= INLINE_VALUE_CHARS)
      return parseDefinitions(xml, fileName, options);
  }
  // Large files are scanned in the worker too: even the linear scan of 5 MiB takes tens of ms.
  if (xml.length > limits.maxBytes) prescanBpmn(xml, fileName, limits);
  return parseInWorker(xml, fileName, options, limits.parseTimeoutMs);
}

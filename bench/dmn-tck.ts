/**
 * Runs the DMN Technology Compatibility Kit (https://github.com/dmn-tck/tck) against Operon's DMN
 * evaluator (engine/dmn) and prints the pass rate per compliance level.
 *
 *   git clone --depth 1 https://github.com/dmn-tck/tck /tmp/tck
 *   npm run dmn:tck -- /tmp/tck [--level compliance-level-2] [--failures] [--json]
 *
 * The TCK is not copied into this repository: the runner reads a checkout (its root, or its
 * TestCases folder). Every test folder holds a `.dmn` model and `*-test-*.xml` files of test cases:
 * input node values and the expected result of named decisions. A test case passes when every one
 * of its result nodes equals the expected value (numbers to 1e-9 relative, lists and contexts
 * element by element). The TCK's models are DMN 1.5; the runner rewrites the DMN 1.5 (and 1.4)
 * namespaces to DMN 1.3, the version Operon reads, and anything that version lacks fails parsing.
 * A model Operon refuses at deployment fails all its test cases with the reason.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { date, dateAndTime, duration, time } from 'feelin';
import { evaluateDecision, parseDmn, type DmnModel } from '../engine/dmn/index.ts';
import { toJson } from '../engine/feel/values.mjs';

export const LEVELS = ['compliance-level-2', 'compliance-level-3'] as const;

// ---------------------------------------------------------------------------------------------
// A small XML reader: elements (prefixes dropped from names), attributes, text, CDATA; enough for
// the TCK's test case files, which are plain data.

export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return ENTITIES[entity] ?? whole;
  });
}

const localName = (name: string) => name.slice(name.indexOf(':') + 1);

export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#document', attrs: {}, children: [], text: '' };
  const stack = [root];
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<!DOCTYPE[^>]*>|<\/([^\s>]+)\s*>|<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  for (const match of xml.matchAll(token)) {
    const top = stack[stack.length - 1]!;
    const [, cdata, closing, opening, attrText, selfClosing, text] = match;
    if (cdata !== undefined) top.text += cdata;
    else if (text !== undefined) top.text += decode(text);
    else if (closing !== undefined) {
      if (stack.length === 1 || top.name !== localName(closing))
        throw new Error(`XML: </${closing}> does not close <${top.name}>`);
      stack.pop();
    } else if (opening !== undefined) {
      const attrs: Record<string, string> = {};
      for (const [, key, double, single] of (attrText ?? '').matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g))
        attrs[key!] = decode(double ?? single ?? '');
      const node: XmlNode = { name: localName(opening), attrs, children: [], text: '' };
      top.children.push(node);
      if (!selfClosing) stack.push(node);
    }
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1]!.name}> is not closed`);
  const element = root.children[0];
  if (!element) throw new Error('XML: no root element');
  return element;
}

const childrenNamed = (node: XmlNode, name: string) => node.children.filter((c) => c.name === name);
const childNamed = (node: XmlNode, name: string) => node.children.find((c) => c.name === name);

/** An attribute by local name, whatever its prefix (`xsi:type`, `xs:type`, ...). */
function attr(node: XmlNode, name: string): string | undefined {
  for (const [key, value] of Object.entries(node.attrs)) if (localName(key) === name) return value;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Test case values (the TCK's valueType: a value, a list of items, or components).

/**
 * A TCK value as JSON (`feel`: false, for expected results) or as the FEEL value an input gets
 * (`feel`: true: dates, times and durations become feelin's temporal values).
 */
export function valueOf(node: XmlNode, feel: boolean): unknown {
  if (attr(node, 'nil') === 'true') return null;
  const value = childNamed(node, 'value');
  if (value) return scalarOf(value, feel);
  const list = childNamed(node, 'list');
  if (list) {
    if (attr(list, 'nil') === 'true') return null;
    return childrenNamed(list, 'item').map((item) => valueOf(item, feel));
  }
  const components = childrenNamed(node, 'component');
  if (components.length > 0) return Object.fromEntries(components.map((c) => [c.attrs.name ?? '', valueOf(c, feel)]));
  return null;
}

function scalarOf(node: XmlNode, feel: boolean): unknown {
  if (attr(node, 'nil') === 'true') return null;
  // A value may hold a list or components itself.
  if (node.children.length > 0) return valueOf(node, feel);
  const type = localName(attr(node, 'type') ?? 'string');
  const text = node.text;
  switch (type) {
    case 'decimal':
    case 'double':
    case 'float':
    case 'integer':
    case 'int':
    case 'long':
    case 'short':
    case 'byte':
      return Number(text.trim());
    case 'boolean':
      return text.trim() === 'true';
    case 'date':
      return feel ? date(text.trim()) : text.trim();
    case 'dateTime':
      return feel ? dateAndTime(text.trim()) : text.trim();
    case 'time':
      return feel ? time(text.trim()) : text.trim();
    case 'duration':
    case 'dayTimeDuration':
    case 'yearMonthDuration':
      return feel ? duration(text.trim()) : text.trim();
    default:
      return text;
  }
}

/** Does `actual` (the evaluator's JSON result) equal `expected` (the TCK's)? */
export function sameValue(actual: unknown, expected: unknown): boolean {
  if (expected === null || expected === undefined) return actual === null || actual === undefined;
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return false;
    if (actual === expected) return true;
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  }
  if (Array.isArray(expected)) {
    // A single-item list and its item are the same value in FEEL.
    if (!Array.isArray(actual)) return expected.length === 1 && sameValue(actual, expected[0]);
    return actual.length === expected.length && expected.every((e, i) => sameValue(actual[i], e));
  }
  if (typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    return (
      Object.keys(e).every((key) => sameValue(a[key], e[key])) &&
      Object.keys(a).every((key) => key in e || a[key] === null)
    );
  }
  if (typeof expected === 'string' && typeof actual === 'string' && expected !== actual) {
    // Temporal values: the evaluator writes ISO text that may differ only in form (P1Y0M vs P1Y).
    return normalTemporal(actual) === normalTemporal(expected);
  }
  return actual === expected;
}

function normalTemporal(text: string): string {
  return text.replace(/(?<=[PYMDTH])0+[YMDHS]/g, '').replace(/T$/, '');
}

// ---------------------------------------------------------------------------------------------
// Running the TCK.

export interface CaseResult {
  level: string;
  test: string;
  caseId: string;
  passed: boolean;
  /** Why it failed: the evaluator's error, or expected vs actual. */
  reason?: string;
}

export interface LevelSummary {
  level: string;
  models: number;
  /**
   * Models Operon's deployment would refuse as a whole (a decision of a kind it does not evaluate,
   * FEEL it cannot parse, DMN 1.4/1.5 elements); their other decisions are still measured.
   */
  modelsRefused: number;
  cases: number;
  passed: number;
}

export interface TckReport {
  root: string;
  levels: LevelSummary[];
  results: CaseResult[];
}

/** DMN 1.5 and 1.4 files, read as DMN 1.3 (what dmn-moddle and Operon's parser know). */
export function asDmn13(xml: string): string {
  return xml
    .replace(
      /https:\/\/www\.omg\.org\/spec\/DMN\/(20230324|20211108)\/MODEL\//g,
      'https://www.omg.org/spec/DMN/20191111/MODEL/',
    )
    .replace(
      /https:\/\/www\.omg\.org\/spec\/DMN\/(20230324|20211108)\/DMNDI\//g,
      'https://www.omg.org/spec/DMN/20191111/DMNDI/',
    );
}

function testsRoot(root: string): string {
  const nested = join(root, 'TestCases');
  return existsDir(nested) ? nested : root;
}

function existsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function runTest(
  level: string,
  folder: string,
  test: string,
): Promise<{ results: CaseResult[]; fileRefused: boolean }> {
  const files = readdirSync(folder).sort();
  const caseFiles = files.filter((f) => /-test-\d+\.xml$/.test(f));
  const results: CaseResult[] = [];
  const models = new Map<string, ModelLoad>();
  const modelFor = async (name: string): Promise<ModelLoad> => {
    if (!models.has(name)) models.set(name, await loadModel(asDmn13(readFileSync(join(folder, name), 'utf8')), name));
    return models.get(name)!;
  };
  for (const file of caseFiles) {
    const doc = parseXml(readFileSync(join(folder, file), 'utf8'));
    const modelName = childNamed(doc, 'modelName')?.text.trim() ?? files.find((f) => f.endsWith('.dmn'));
    const model: ModelLoad = modelName
      ? await modelFor(modelName)
      : { refused: new Map(), error: new Error('no model') };
    for (const testCase of childrenNamed(doc, 'testCase')) {
      const caseId = `${file.replace(/\.xml$/, '')}#${testCase.attrs.id ?? '?'}`;
      results.push({ level, test, caseId, ...runCase(model, testCase) });
    }
  }
  const fileRefused = [...models.values()].some((m) => m.error || m.fileRefused);
  return { results, fileRefused };
}

/**
 * A TCK model as Operon reads it. Operon refuses a whole file at deployment when one decision is
 * of a kind it does not evaluate or holds FEEL it cannot parse; to measure every other decision,
 * such a decision is cut out of the file (with the decisions that require it) and the rest is
 * read again. `refused` keeps why, by decision id; their test cases fail with that reason.
 */
interface ModelLoad {
  model?: DmnModel;
  /** Why the whole file would be refused at deployment (set when anything was cut out). */
  fileRefused?: string;
  /** Decisions cut out, by id, with the reason. */
  refused: Map<string, string>;
  error?: Error;
}

const DECISION_BLOCK = /<(?:[\w-]+:)?decision\b[^>]*?(?:\/>|>[\s\S]*?<\/(?:[\w-]+:)?decision>)/g;

async function loadModel(xml: string, name: string): Promise<ModelLoad> {
  const refused = new Map<string, string>();
  let fileRefused: string | undefined;
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      return { model: await parseDmn(xml, name), refused, ...(fileRefused ? { fileRefused } : {}) };
    } catch (error) {
      const message = (error as Error).message.split('\n')[0]!;
      fileRefused ??= message;
      const elementId = (error as { details?: { elementId?: string } }).details?.elementId;
      const requiresMissing = /requires "(?:[^"]*#)?([^"]+)"/.exec(message);
      // The decision that holds the offending element (or is it), else give up on the file.
      const block = elementId
        ? [...xml.matchAll(DECISION_BLOCK)].find((m) => new RegExp(`\\bid="${escapeRegExp(elementId)}"`).test(m[0]))
        : undefined;
      if (!block) return { refused, error: error as Error };
      const why = requiresMissing ? `requires a refused decision: ${message}` : message;
      refused.set(/\bid="([^"]+)"/.exec(block[0])?.[1] ?? elementId!, why);
      const decisionName = /\bname="([^"]+)"/.exec(block[0])?.[1];
      if (decisionName) refused.set(decisionName, why);
      xml = xml.replace(block[0], '');
    }
  }
  return { refused, error: new Error('too many refused decisions') };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function runCase(load: ModelLoad, testCase: XmlNode): { passed: boolean; reason?: string } {
  if (!load.model) return { passed: false, reason: `model refused: ${load.error?.message.split('\n')[0]}` };
  const model = load.model;
  const type = testCase.attrs.type ?? 'decision';
  if (type !== 'decision') return { passed: false, reason: `test case type "${type}" is not run` };
  const variables: Record<string, unknown> = {};
  try {
    for (const input of childrenNamed(testCase, 'inputNode')) variables[input.attrs.name ?? ''] = valueOf(input, true);
  } catch (error) {
    return { passed: false, reason: `input value: ${(error as Error).message}` };
  }
  const nodes = childrenNamed(testCase, 'resultNode');
  if (nodes.length === 0) return { passed: false, reason: 'no result node' };
  for (const node of nodes) {
    const name = node.attrs.name ?? '';
    const decision = model.decisions.find((d) => d.name === name) ?? model.decisions.find((d) => d.id === name);
    const errorExpected = node.attrs.errorResult === 'true';
    if (!decision) {
      const why = load.refused.get(name);
      return { passed: false, reason: why ? `decision refused: ${why}` : `no decision "${name}"` };
    }
    const expected = childNamed(node, 'expected');
    let actual: unknown;
    try {
      actual = toJson(evaluateDecision(model, decision.id, variables).output);
    } catch (error) {
      if (errorExpected) continue;
      return { passed: false, reason: `${name}: ${(error as Error).message.split('\n')[0]}` };
    }
    if (errorExpected) {
      if (actual === null) continue;
      return { passed: false, reason: `${name}: expected an error, got ${JSON.stringify(actual)}` };
    }
    const wanted = expected ? valueOf(expected, false) : null;
    if (!sameValue(actual, wanted))
      return { passed: false, reason: `${name}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual)}` };
  }
  return { passed: true };
}

/** Runs the given compliance levels of the TCK checkout (or TestCases folder) at `root`. */
export async function runTck(root: string, levels: readonly string[] = LEVELS): Promise<TckReport> {
  const base = testsRoot(root);
  const report: TckReport = { root, levels: [], results: [] };
  for (const level of levels) {
    const dir = join(base, level);
    if (!existsDir(dir)) throw new Error(`${dir} is not a folder: is ${root} a checkout of github.com/dmn-tck/tck?`);
    const tests = readdirSync(dir)
      .filter((name) => existsDir(join(dir, name)))
      .sort();
    const summary: LevelSummary = { level, models: 0, modelsRefused: 0, cases: 0, passed: 0 };
    for (const test of tests) {
      const { results, fileRefused } = await runTest(level, join(dir, test), test);
      summary.models++;
      if (fileRefused) summary.modelsRefused++;
      summary.cases += results.length;
      summary.passed += results.filter((r) => r.passed).length;
      report.results.push(...results);
    }
    report.levels.push(summary);
  }
  return report;
}

const pct = (passed: number, total: number) => (total === 0 ? '-' : `${((passed / total) * 100).toFixed(1)} %`);

export function formatReport(report: TckReport, failures = false): string {
  const lines = [`DMN TCK at ${report.root}`, ''];
  lines.push(
    `${'level'.padEnd(20)} ${'models'.padStart(6)} ${'refused'.padStart(8)} ${'cases'.padStart(6)} ${'passed'.padStart(7)} ${'rate'.padStart(8)}`,
  );
  for (const s of report.levels)
    lines.push(
      `${s.level.padEnd(20)} ${String(s.models).padStart(6)} ${String(s.modelsRefused).padStart(8)} ${String(s.cases).padStart(6)} ${String(s.passed).padStart(7)} ${pct(s.passed, s.cases).padStart(8)}`,
    );
  if (failures) {
    lines.push('', 'Failures:');
    for (const r of report.results.filter((x) => !x.passed))
      lines.push(`  ${r.level}/${r.test} ${r.caseId}: ${r.reason}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const root = argv.find((a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--level');
  if (!root) {
    process.stderr.write(
      'usage: npm run dmn:tck -- <path to a checkout of github.com/dmn-tck/tck> [--level compliance-level-2] [--failures] [--json]\n',
    );
    return 2;
  }
  const levelIndex = argv.indexOf('--level');
  const levels = levelIndex >= 0 ? [argv[levelIndex + 1]!] : LEVELS;
  const report = await runTck(root, levels);
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(report.levels, null, 2)}\n`);
  else process.stdout.write(`${formatReport(report, argv.includes('--failures'))}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(1);
    },
  );
}

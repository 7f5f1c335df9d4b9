/**
 * The boundaries between Operon's parts, checked on the import graph: every module's imports are
 * read with the TypeScript parser (static imports and re-exports, `import type` included, literal
 * `import()` calls, `import('x').T` types) and followed transitively, so a boundary cannot be
 * crossed through a third module. Type-only imports count for the part rules (naming another part's
 * types is depending on it); the package rules ask what a part loads, so they follow value imports
 * only. A computed `import()` under engine/ fails outright: the graph (and tsc) could not see it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE = /\.(ts|mts|mjs)$/;

interface Edge {
  /** Repository-relative path, or `pkg:<name>` for a package. */
  to: string;
  typeOnly: boolean;
}

interface ModuleInfo {
  edges: Edge[];
  /** `import(expr)` calls whose specifier is not a string literal. */
  computed: number;
}

const modules = new Map<string, ModuleInfo>();

function target(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) {
    const parts = specifier.split('/');
    return `pkg:${specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]}`;
  }
  const path = resolve(dirname(join(ROOT, from)), specifier);
  for (const candidate of [path, `${path}.ts`, join(path, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(ROOT, candidate);
  }
  throw new Error(`${from}: cannot resolve '${specifier}'`);
}

function read(file: string): ModuleInfo {
  const known = modules.get(file);
  if (known) return known;
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const info: ModuleInfo = { edges: [], computed: 0 };
  const add = (specifier: string, typeOnly: boolean) => info.edges.push({ to: target(file, specifier), typeOnly });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings : undefined;
      const allTypes =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name && !!named && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, allTypes);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) add(argument.text, false);
      else info.computed++;
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  modules.set(file, info);
  return info;
}

/** Every module `file` reaches, with one path to it (for the failure message). */
function reach(file: string, valueOnly: boolean): Map<string, string[]> {
  const paths = new Map<string, string[]>([[file, [file]]]);
  const queue = [file];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (current.startsWith('pkg:')) continue;
    for (const edge of read(current).edges) {
      if ((valueOnly && edge.typeOnly) || paths.has(edge.to)) continue;
      paths.set(edge.to, [...paths.get(current)!, edge.to]);
      queue.push(edge.to);
    }
  }
  return paths;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'public' ? [] : sources(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

/** `from` modules that reach anything under a forbidden prefix, each with the import chain. */
function violations(from: string[], forbidden: string[], valueOnly = false): string[] {
  const found: string[] = [];
  for (const file of from) {
    for (const [reached, path] of reach(file, valueOnly)) {
      if (forbidden.some((prefix) => reached === prefix || reached.startsWith(prefix))) found.push(path.join(' -> '));
    }
  }
  return found;
}

const RUNTIME = sources('engine/runtime');
const ENGINE = sources('engine');

test('the graph covers the tree: the runtime and engine folders hold modules with imports', () => {
  assert.ok(RUNTIME.length >= 10, `runtime modules: ${RUNTIME.length}`);
  assert.ok(ENGINE.length >= 100, `engine modules: ${ENGINE.length}`);
  // A chain the walker must follow, as a sanity check of the resolution itself.
  assert.ok(reach('engine/engine.ts', false).has('engine/runtime/index.ts'));
});

test('the runtime (engine/runtime) reaches no store, HTTP, UI, jobs, bots or decisions', () => {
  assert.deepEqual(
    violations(RUNTIME, [
      'engine/store/',
      'engine/http/',
      'engine/ui/',
      'engine/jobs/',
      'engine/cli/',
      'engine/engine.ts',
      'engine/worker.ts',
      'nodes/',
      'processes/',
    ]),
    [],
  );
});

test('the runtime loads no database driver, web server, browser, model runtime or telemetry', () => {
  assert.deepEqual(
    violations(
      RUNTIME,
      [
        'pkg:knex',
        'pkg:pg',
        'pkg:fastify',
        'pkg:playwright-core',
        'pkg:onnxruntime-node',
        'pkg:tokenizers',
        'pkg:@opentelemetry/',
        'engine/telemetry/',
      ],
      true,
    ),
    [],
  );
});

test('engine/ reaches neither nodes/ nor processes/ (the composition root in app/ joins them)', () => {
  assert.deepEqual(violations(ENGINE, ['nodes/', 'processes/', 'app/']), []);
});

test('engine/ has no computed import() the graph cannot follow, except the migration loader', () => {
  const allowed = new Set(['engine/store/knex.ts']);
  const hidden = ENGINE.filter((file) => !allowed.has(file) && read(file).computed > 0);
  assert.deepEqual(hidden, []);
});

test('the store reaches no UI or HTTP; the worker does not reach the engine class', () => {
  assert.deepEqual(violations(sources('engine/store'), ['engine/ui/', 'engine/http/', 'engine/cli/']), []);
  assert.deepEqual(violations(['engine/worker.ts'], ['engine/engine.ts']), []);
});

test('nodes/ use the engine through its contracts, not its job machinery', () => {
  assert.deepEqual(violations(sources('nodes'), ['engine/jobs/', 'engine/engine.ts', 'engine/worker.ts']), []);
});

test('only engine/telemetry/setup.ts loads the OpenTelemetry SDK and exporter (the rest uses the API)', () => {
  const sdk = [
    'pkg:@opentelemetry/sdk-trace-base',
    'pkg:@opentelemetry/exporter-trace-otlp-http',
    'pkg:@opentelemetry/resources',
  ];
  const loaders = [...ENGINE, ...sources('nodes')].filter(
    (file) => file !== 'engine/telemetry/setup.ts' && read(file).edges.some((edge) => sdk.includes(edge.to)),
  );
  assert.deepEqual(loaders, []);
});

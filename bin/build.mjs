#!/usr/bin/env node
// Compiles the CLI to JavaScript under dist/ (npm run build; `prepare` runs it on npm install/ci and
// before npm pack/publish). bin/operon.js runs dist/ when it is at least as new as every source file
// it was built from, else the TypeScript through tsx.
//
//   dist/main.js, dist/*.js   app/main.ts bundled with esbuild, one chunk per dynamic import,
//                             so a command loads only its own code; packages load from node_modules
//   dist/migrations/*.js      migrations/*.ts, one file each (knex_migrations keeps the .ts names)
//   dist/build.json           when it was built and from which files
//
// `import.meta.url` in a bundled file means the source file's URL, so the files found next to the
// sources (processes/, migrations/, models/, engine/ui/public, worker threads) are found the same way.
// Usage: node bin/build.mjs [--outdir DIR]
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { MIGRATION } from './compiled.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdirArg = process.argv.indexOf('--outdir');
const outdir = resolve(outdirArg > 0 ? process.argv[outdirArg + 1] : join(root, 'dist'));

/** Rewrites `import.meta.url` to the source file's URL, written relative to the output folder. */
function sourceUrls(folder) {
  return {
    name: 'operon-source-urls',
    setup(builder) {
      builder.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
        const source = relative(folder, args.path).split(sep).join('/');
        // On the first line, so line numbers stay those of the source.
        const head = `const __operonSourceUrl = new URL(${JSON.stringify(source)}, import.meta.url).href;`;
        return { contents: head + text.replaceAll('import.meta.url', '__operonSourceUrl'), loader: 'ts' };
      });
    },
  };
}

/** Packages stay in node_modules, loaded at run time; their JSON files are bundled (node wants `with { type: 'json' }`). */
const packagesExternal = {
  name: 'operon-packages-external',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => (args.path.endsWith('.json') ? undefined : { external: true }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
  absWorkingDir: root,
};

const builtAt = Date.now();
const staging = `${outdir}.tmp-${process.pid}`;
await rm(staging, { recursive: true, force: true });
const cli = await build({
  ...common,
  entryPoints: { main: join(root, 'app/main.ts') },
  outdir: staging,
  splitting: true,
  chunkNames: '[name]-[hash]',
  plugins: [packagesExternal, sourceUrls(outdir)],
});
const migrationFiles = (await readdir(join(root, 'migrations'))).filter((file) => MIGRATION.test(file)).sort();
const migrations = await build({
  ...common,
  entryPoints: migrationFiles.map((file) => join(root, 'migrations', file)),
  outdir: join(staging, 'migrations'),
  plugins: [packagesExternal, sourceUrls(join(outdir, 'migrations'))],
});
const inputs = [...new Set([...Object.keys(cli.metafile.inputs), ...Object.keys(migrations.metafile.inputs)])]
  .filter((input) => !input.startsWith('node_modules/'))
  .sort();
await writeFile(
  join(staging, 'build.json'),
  `${JSON.stringify({ builtAt, migrations: migrationFiles, inputs }, null, 2)}\n`,
);
await rm(outdir, { recursive: true, force: true });
await rename(staging, outdir);
console.log(`operon: compiled ${inputs.length} files to ${relative(process.cwd(), outdir) || '.'}/`);

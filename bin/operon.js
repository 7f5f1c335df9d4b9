#!/usr/bin/env node
// The `operon` command. Runs the compiled CLI (dist/, from `npm run build`, which npm install runs)
// when it is up to date: built after the last change of every file it was compiled from, with the
// same migrations. Otherwise, or with OPERON_CLI=tsx, the TypeScript sources run through tsx in
// this same process (signals reach the engine directly), so an edited .ts file always counts.
import { readFileSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

function compiledIsCurrent() {
  if (process.env.OPERON_CLI === 'tsx') return false;
  try {
    const build = JSON.parse(readFileSync(new URL('dist/build.json', root), 'utf8'));
    const migrations = readdirSync(new URL('migrations/', root)).filter((f) => /^\d{6}_[\w-]+\.ts$/.test(f));
    if (migrations.sort().join() !== build.migrations.join()) return false;
    return build.inputs.every((input) => statSync(new URL(input, root)).mtimeMs <= build.builtAt);
  } catch {
    return false;
  }
}

if (compiledIsCurrent()) {
  await import('../dist/main.js');
} else {
  if (process.stderr.isTTY && process.env.OPERON_CLI !== 'tsx') {
    process.stderr.write(
      'operon: dist/ is missing or older than the sources, running them through tsx (npm run build)\n',
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../engine/cli/main.ts');
}

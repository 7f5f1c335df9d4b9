#!/usr/bin/env node
// The `operon` command. Runs the compiled CLI (dist/, from `npm run build`, which npm install runs)
// when it is current (bin/compiled.mjs): built after the last change of every file it was compiled
// from. Otherwise, or with OPERON_CLI=tsx, the TypeScript sources run through tsx in this same
// process (signals reach the engine directly), so an edited .ts file always counts.
import { compiledIsCurrent } from './compiled.mjs';

if (process.env.OPERON_CLI !== 'tsx' && compiledIsCurrent()) {
  await import('../dist/main.js');
} else {
  if (process.stderr.isTTY && process.env.OPERON_CLI !== 'tsx') {
    process.stderr.write(
      'operon: dist/ is missing or older than the sources, running them through tsx (npm run build)\n',
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../app/main.ts');
}

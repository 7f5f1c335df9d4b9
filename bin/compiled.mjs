// Whether dist/ (bin/build.mjs) is current for the sources next to it: built after the last change
// of every file it was compiled from, and from the same migrations. bin/operon.js runs dist/ only then.
import { readFileSync, readdirSync, statSync } from 'node:fs';

export const MIGRATION = /^\d{6}_[\w-]+\.ts$/;

/** `root`: the repository (or installed package) folder, as a file: URL ending in '/'. */
export function compiledIsCurrent(root = new URL('../', import.meta.url)) {
  try {
    const build = JSON.parse(readFileSync(new URL('dist/build.json', root), 'utf8'));
    const migrations = readdirSync(new URL('migrations/', root)).filter((file) => MIGRATION.test(file));
    if (migrations.sort().join() !== build.migrations.join()) return false;
    return build.inputs.every((input) => statSync(new URL(input, root)).mtimeMs <= build.builtAt);
  } catch {
    return false;
  }
}

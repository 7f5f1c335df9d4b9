/**
 * The engine core never imports Playwright or onnxruntime: those live in nodes/ and are injected
 * through the NodeRegistry.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ENGINE = fileURLToPath(new URL('../../engine/', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? sources(join(dir, entry.name))
        : Promise.resolve(entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []),
    ),
  );
  return nested.flat();
}

it('no file under engine/ imports playwright or onnxruntime', async () => {
  const files = await sources(ENGINE);
  assert.ok(files.length > 20);
  const offenders: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    if (/(from\s+|import\s*\(\s*)['"](playwright|playwright-core|onnxruntime-node|onnxruntime-web)['"/]/.test(text))
      offenders.push(file);
  }
  assert.deepEqual(offenders, []);
});

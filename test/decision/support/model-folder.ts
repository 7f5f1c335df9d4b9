/**
 * A copy of a shipped model folder in a temporary models directory, its config.json changed by
 * `change`: how the decision tests try a review setting on the real model without touching models/.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Returns the models directory that holds the copy as `<domain>/`. */
export function shippedFolderWith(
  domain: 'loan' | 'order',
  change: (config: Record<string, unknown>) => Record<string, unknown>,
): string {
  const models = mkdtempSync(join(tmpdir(), `operon-${domain}-`));
  cpSync(fileURLToPath(new URL(`../../../models/${domain}/`, import.meta.url)), join(models, domain), {
    recursive: true,
  });
  const file = join(models, domain, 'config.json');
  writeFileSync(file, JSON.stringify(change(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)));
  return models;
}

/**
 * Secrets by name, from the environment and an optional secrets file (JSON object or dotenv lines),
 * plus helpers that mask secret values in any text that leaves a bot run.
 */
import { readFileSync } from 'node:fs';
import type { SecretStore } from '../../engine/nodes/types.ts';

export const MASK = '***';

export interface SecretStoreOptions {
  env?: NodeJS.ProcessEnv;
  /** JSON (`{ "NAME": "value" }`) or dotenv (`NAME=value`) file. Default `OPERON_SECRETS_FILE`. */
  file?: string;
  /** Values used when neither the environment nor the file has the name (documented demo credentials). */
  defaults?: Readonly<Record<string, string>>;
}

/** Parses a secrets file: a JSON object of strings, else dotenv lines (`# comments`, optional quotes, `export`). */
export function parseSecretsFile(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const parsed = JSON.parse(trimmed) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >;
  }
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.trimStart().startsWith('#')) continue;
    const match = /^\s*(?:export\s+)?([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2]!;
    if (
      value.length >= 2 &&
      ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
    )
      value = value.slice(1, -1);
    out[match[1]!] = value;
  }
  return out;
}

/**
 * A `SecretStore`: `OPERON_SECRET_<NAME>` or `<NAME>` from the environment, then the secrets file,
 * then `defaults`. `values()` lists the file's values and every value handed out, for masking.
 */
export function createSecretStore(options: SecretStoreOptions = {}): SecretStore {
  const env = options.env ?? process.env;
  const path = options.file ?? env.OPERON_SECRETS_FILE;
  const file = path ? parseSecretsFile(readFileSync(path, 'utf8')) : {};
  const handedOut = new Set<string>();
  return {
    get(name) {
      const value = env[`OPERON_SECRET_${name}`] || env[name] || file[name] || options.defaults?.[name];
      if (value) handedOut.add(value);
      return value || undefined;
    },
    values: () => [...new Set([...Object.values(file), ...handedOut])].filter((v) => v.length > 0),
  };
}

/** Replaces every occurrence of every secret value by `***` (longest first, so overlapping values mask fully). */
export function maskSecrets(text: string, values: Iterable<string>): string {
  let out = text;
  for (const value of [...values].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length))
    out = out.replaceAll(value, MASK);
  return out;
}

/** True when the JSON of `data` contains a secret value (outputs that would leak one are refused). */
export function containsSecret(data: unknown, values: Iterable<string>): boolean {
  const json = JSON.stringify(data) ?? '';
  for (const value of values)
    if (value.length >= 3 && (json.includes(value) || json.includes(JSON.stringify(value).slice(1, -1)))) return true;
  return false;
}

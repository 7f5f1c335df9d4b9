/**
 * One setting of a model folder's config.json written in place, the rest of the file left as it
 * was: the scripts that add a review signal after export (models/decisive-words.ts,
 * models/neighbours.ts) keep the file's formatting, so a rerun changes one line.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Sets `key` in a model folder's config.json to `value`, on one line before `textVariables` (or in
 * place of an earlier value, whether on one line or spread over several by a tool that rewrote the
 * whole file), leaving the rest of the file as it was.
 */
export function writeConfigLine(file: string, key: string, value: unknown): void {
  const text = readFileSync(file, 'utf8');
  const line = `  ${JSON.stringify(key)}: ${JSON.stringify(value)},\n`;
  const earlier = topLevelEntry(text, key);
  const next = earlier
    ? text.slice(0, earlier.start) + line + text.slice(earlier.end)
    : text.includes('\n  "textVariables":')
      ? text.replace('\n  "textVariables":', `\n${line}  "textVariables":`)
      : `${JSON.stringify({ ...JSON.parse(text), [key]: value }, null, 2)}\n`;
  if (JSON.stringify(JSON.parse(next)[key]) !== JSON.stringify(value))
    throw new Error(`${file}: ${key} was not written`);
  writeFileSync(file, next);
}

/**
 * Where a top-level `"key": <value>,` entry of a two-space-indented JSON object starts (at its
 * line) and ends (after the comma and newline), found by reading the value to its closing bracket
 * (strings skipped); null when the key is not there or not followed by a comma.
 */
function topLevelEntry(text: string, key: string): { start: number; end: number } | null {
  const head = `\n  ${JSON.stringify(key)}: `;
  const at = text.indexOf(head);
  if (at < 0) return null;
  let i = at + head.length;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) break;
  }
  if (text[i] !== ',' || text[i + 1] !== '\n') return null;
  return { start: at + 1, end: i + 2 };
}

/**
 * Playwright traces record the network log of a page like a HAR file: `Cookie`, `Set-Cookie` and
 * `Authorization` headers and parsed cookie lists. A kept trace with a live session cookie would
 * let whoever reads the artifact replay the session, so traces are rewritten without them.
 */
import { createRequire } from 'node:module';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';

interface ZipEntry {
  fileName: string;
}
interface ZipReader {
  readEntry(): void;
  on(event: 'entry', listener: (entry: ZipEntry) => void): void;
  on(event: 'end' | 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  openReadStream(entry: ZipEntry, callback: (error: Error | null, stream: Readable) => void): void;
  close(): void;
}
interface ZipWriter {
  addBuffer(buffer: Buffer, name: string): void;
  end(): void;
  outputStream: Readable;
}

// Playwright bundles the zip reader and writer its own trace files are made with (yauzl, yazl);
// loaded on the first scrub, so processes that load the bot node but run no bot do not pay for it.
interface ZipLibraries {
  yauzl: {
    open(
      path: string,
      options: { lazyEntries: boolean },
      callback: (error: Error | null, zip: ZipReader) => void,
    ): void;
  };
  yazl: { ZipFile: new () => ZipWriter };
}
let zipLibraries: ZipLibraries | undefined;
function zipLibrary(): ZipLibraries {
  zipLibraries ??= createRequire(import.meta.url)('playwright-core/lib/utilsBundle') as ZipLibraries;
  return zipLibraries;
}

/** Header names whose values open a session or carry a credential. */
const SENSITIVE_HEADERS = new Set([
  'cookie',
  'set-cookie',
  'authorization',
  'proxy-authorization',
  'x-csrf-token',
  'x-xsrf-token',
]);
/** Keys whose whole value is session state: HAR cookie lists, storage state, web storage. */
const SESSION_KEYS = new Set(['cookies', 'storageState', 'localStorage', 'sessionStorage']);

/** A HAR-style header `{ name, value }` with a sensitive name. */
function isSensitiveHeader(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || !('value' in value)) return false;
  const name = (value as { name?: unknown }).name;
  return typeof name === 'string' && SENSITIVE_HEADERS.has(name.toLowerCase());
}

/** A trace event (one JSON line) without session state. */
export function scrubTraceEvent(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => !isSensitiveHeader(item)).map(scrubTraceEvent);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'cookies' && Array.isArray(inner)) {
      out[key] = [];
      continue;
    }
    if (SESSION_KEYS.has(key)) continue;
    // Header maps as objects ({ cookie: '...' }) as well as HAR arrays ([{ name, value }]).
    if (SENSITIVE_HEADERS.has(key.toLowerCase()) && typeof inner === 'string') continue;
    out[key] = scrubTraceEvent(inner);
  }
  return out;
}

function scrubLines(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.trim() === '') return line;
      try {
        return JSON.stringify(scrubTraceEvent(JSON.parse(line)));
      } catch {
        // Not an event: dropped rather than kept unread.
        return '';
      }
    })
    .join('\n');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Rewrites the trace at `path` without cookies, credentials and storage state, as a file only its
 * owner can read (mode 0600). On any failure the trace is deleted: an unscrubbed trace is never kept.
 */
export async function scrubTrace(path: string): Promise<void> {
  const scrubbed = `${path}.scrubbed`;
  try {
    const zip = await new Promise<ZipReader>((resolve, reject) =>
      zipLibrary().yauzl.open(path, { lazyEntries: true }, (error, opened) =>
        error ? reject(error) : resolve(opened),
      ),
    );
    const writer = new (zipLibrary().yazl.ZipFile)();
    const output = createWriteStream(scrubbed, { mode: 0o600 });
    const written = new Promise<void>((resolve, reject) => {
      output.on('close', resolve);
      output.on('error', reject);
    });
    writer.outputStream.pipe(output);
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', resolve);
      zip.on('entry', (entry) => {
        zip.openReadStream(entry, (error, stream) => {
          if (error) return reject(error);
          readAll(stream).then((content) => {
            const events = /\.(trace|network)$/.test(entry.fileName);
            writer.addBuffer(events ? Buffer.from(scrubLines(content.toString('utf8'))) : content, entry.fileName);
            zip.readEntry();
          }, reject);
        });
      });
      zip.readEntry();
    });
    zip.close();
    writer.end();
    await written;
    await rename(scrubbed, path);
  } catch (error) {
    await rm(scrubbed, { force: true });
    await rm(path, { force: true });
    throw error;
  }
}

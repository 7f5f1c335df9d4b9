/**
 * `npm run models:corpus` — extracts plain English text from Debian packages installed by apt
 * (see ENGLISH_SOURCES) into one deduplicated, normalized file, one document per line, and writes a
 * manifest: per source its package, version, licence, documents, bytes and the SHA-256 of its text,
 * plus the total. The model cards cite the manifest committed as models/corpus/manifest.json.
 *
 *   apt-get install -y wordnet-base dict-gcide fortunes
 *   tsx models/corpus/build.ts [--root /] [--out models/.work/corpus] [--manifest models/corpus/manifest.json]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { cleanDocuments } from './normalize.ts';
import { ENGLISH_SOURCES, type EnglishSource } from './sources.ts';

/** One source's share of the corpus. */
export interface SourceEntry {
  name: string;
  package: string;
  version: string;
  licence: string;
  files: string[];
  documents: number;
  bytes: number;
  sha256: string;
}

/** What models/corpus/manifest.json holds. */
export interface CorpusManifest {
  corpus: string;
  format: string;
  sources: SourceEntry[];
  total: { documents: number; bytes: number; sha256: string };
}

export interface BuildOptions {
  /** Where the packages' files are installed ("/" on a Debian machine). */
  root: string;
  /** Folder for english.txt and manifest.json. */
  outDir: string;
  sources?: EnglishSource[];
  /** The installed version of a Debian package; dpkg-query by default. */
  versionOf?: (pkg: string) => string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function installedVersion(pkg: string): string {
  return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
}

function readSourceFile(path: string): string {
  const raw = readFileSync(path);
  return (path.endsWith('.dz') || path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/** Builds english.txt and its manifest in `outDir`; fails naming the package when one is missing. */
export function buildCorpus({
  root,
  outDir,
  sources = ENGLISH_SOURCES,
  versionOf = installedVersion,
}: BuildOptions): CorpusManifest {
  const seen = new Set<string>();
  const entries: SourceEntry[] = [];
  const texts: string[] = [];
  for (const source of sources) {
    const documents: string[] = [];
    for (const file of source.files) {
      const path = join(root, file);
      if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install -y ${source.package}`);
      for (const document of cleanDocuments(source.read(readSourceFile(path), file), seen)) documents.push(document);
    }
    const text = documents.map((d) => `${d}\n`).join('');
    texts.push(text);
    entries.push({
      name: source.name,
      package: source.package,
      version: versionOf(source.package),
      licence: source.licence,
      files: source.files,
      documents: documents.length,
      bytes: Buffer.byteLength(text),
      sha256: sha256(text),
    });
  }
  const corpus = texts.join('');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'english.txt'), corpus);
  const manifest: CorpusManifest = {
    corpus: 'english.txt',
    format: 'UTF-8, one normalized document per line, deduplicated across sources (case and punctuation ignored)',
    sources: entries,
    total: {
      documents: entries.reduce((n, e) => n + e.documents, 0),
      bytes: Buffer.byteLength(corpus),
      sha256: sha256(corpus),
    },
  };
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      root: { type: 'string', default: '/' },
      out: { type: 'string', default: 'models/.work/corpus' },
      manifest: { type: 'string' },
    },
  });
  const manifest = buildCorpus({ root: values.root!, outDir: values.out! });
  if (values.manifest) writeFileSync(values.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  for (const s of manifest.sources)
    console.log(`${s.name} (${s.package} ${s.version}): ${s.documents} documents, ${s.bytes} bytes`);
  console.log(
    `total: ${manifest.total.documents} documents, ${manifest.total.bytes} bytes, sha256 ${manifest.total.sha256}`,
  );
}

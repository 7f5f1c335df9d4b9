/**
 * Plain English text shipped by Debian packages, and how to read each package's files into
 * documents (one paragraph, gloss or quotation each). The readers are pure: raw file text in,
 * documents out, so they are tested on small committed samples.
 */

/** A package whose files hold English prose. */
export interface EnglishSource {
  /** Short name used in the manifest. */
  name: string;
  /** The Debian package that installs the files (`apt-get install <package>`). */
  package: string;
  /** The licence of the text, as the package's copyright file states it. */
  licence: string;
  /** Files below the install root; `.dz` files are dictzip (gzip) compressed. */
  files: string[];
  /** Turns one file's text into documents. */
  read(text: string, file: string): string[];
}

/**
 * WordNet 3.0 data files: each synset line becomes "word, synonym: gloss; \"example\"". Header
 * lines (the licence) start with two spaces.
 */
export function readWordNet(text: string): string[] {
  const documents: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('  ') || !line.includes(' | ')) continue;
    const [fields, gloss] = line.split(' | ', 2) as [string, string];
    const parts = fields.split(' ');
    const count = Number.parseInt(parts[3] ?? '0', 16);
    const words = [];
    for (let i = 0; i < count; i++) words.push(parts[4 + 2 * i]!.replace(/\(\w+\)$/, '').replaceAll('_', ' '));
    documents.push(`${words.join(', ')}: ${gloss.trim()}`);
  }
  return documents;
}

/**
 * A dictd database of the GCIDE (Webster 1913 and later additions): a headword line at column 0
 * (with its pronunciation), then indented definition paragraphs. Headword lines, source tags such
 * as "[1913 Webster]" and the database's own header entries are dropped; markup braces go.
 */
export function readGcide(text: string): string[] {
  const documents: string[] = [];
  let paragraph: string[] = [];
  let inHeader = false;
  // An etymology in [brackets] opened on the headword line may run over several lines.
  let etymologyDepth = 0;
  const depthOf = (line: string) => (line.match(/\[/g)?.length ?? 0) - (line.match(/\]/g)?.length ?? 0);
  const flush = () => {
    if (paragraph.length > 0 && !inHeader) documents.push(paragraph.join(' '));
    paragraph = [];
  };
  for (const raw of text.split('\n')) {
    let line = raw;
    if (line.trim() === '') {
      flush();
      etymologyDepth = 0;
      continue;
    }
    if (!/^\s/.test(line)) {
      flush();
      inHeader = line.startsWith('00-database') || line.startsWith('00database');
      etymologyDepth = Math.max(0, depthOf(line));
      continue;
    }
    if (etymologyDepth > 0) {
      etymologyDepth = Math.max(0, etymologyDepth + depthOf(line));
      if (etymologyDepth > 0 || !line.includes(']')) continue;
      line = line.slice(line.lastIndexOf(']') + 1);
    }
    const cleaned = line
      .trim()
      .replace(/\[[^\]]{1,40}\]/g, '')
      .replace(/[{}]/g, '')
      .trim();
    if (cleaned) paragraph.push(cleaned);
  }
  flush();
  return documents;
}

/** A fortune(6) file: quotations separated by lines holding only "%". */
export function readFortunes(text: string): string[] {
  return text
    .split(/^%$/m)
    .map((fortune) => fortune.trim())
    .filter(Boolean);
}

const fortuneFiles = [
  'computers',
  'cookie',
  'definitions',
  'education',
  'food',
  'fortunes',
  'goedel',
  'humorists',
  'kids',
  'law',
  'literature',
  'love',
  'magic',
  'medicine',
  'miscellaneous',
  'news',
  'paradoxum',
  'people',
  'pets',
  'platitudes',
  'politics',
  'riddles',
  'science',
  'songs-poems',
  'sports',
  'tao',
  'wisdom',
  'work',
];

/**
 * The sources `npm run models:corpus` reads, in this order (earlier sources win deduplication).
 * Left out on purpose: the fortune files of ASCII art and those built on stereotypes (ethnic,
 * men-women), and the Devil's Dictionary (dict-devil), whose 1911 text holds slurs.
 */
export const ENGLISH_SOURCES: EnglishSource[] = [
  {
    name: 'wordnet',
    package: 'wordnet-base',
    licence: 'WordNet 3.0 licence (Princeton University; permissive, keep the copyright notice)',
    files: ['noun', 'verb', 'adj', 'adv'].map((pos) => `usr/share/wordnet/data.${pos}`),
    read: readWordNet,
  },
  {
    name: 'gcide',
    package: 'dict-gcide',
    licence: 'GPL-2.0-or-later (GNU Collaborative International Dictionary of English)',
    files: ['usr/share/dictd/gcide.dict.dz'],
    read: readGcide,
  },
  {
    name: 'fortunes',
    package: 'fortunes',
    licence: 'BSD (fortune-mod); quotations of mixed, mostly public, provenance',
    files: fortuneFiles.map((f) => `usr/share/games/fortunes/${f}`),
    read: readFortunes,
  },
];

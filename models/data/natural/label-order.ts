/**
 * Turns the hand-written order drafts into the committed JSON Lines files (see DATA-FORMAT in issue #16):
 *
 * - models/data/natural/order.draft.txt -> order.test.jsonl, the natural test set (never trained on):
 *   each note gets case fields, and `policyLabel` is computed by `orderPolicy`, never written by hand.
 * - models/data/natural/order.holdout.draft.txt -> order.holdout.jsonl, the second measured set,
 *   written later by another hand, labelled the same way (seed 26).
 * - models/data/natural/order.third.draft.txt -> order.third.jsonl, the third measured set (seed 35).
 * - models/data/natural/order.fourth.draft.txt -> order.fourth.jsonl, the fourth measured set (seed 44).
 * - models/data/natural/order.fifth.draft.txt -> order.fifth.jsonl, the fifth measured set (seed 53).
 * - models/data/natural/order.sixth.draft.txt -> order.sixth.jsonl, the sixth measured set (seed 62).
 * - models/data/natural/order.seventh.draft.txt -> order.seventh.jsonl, the seventh measured set (seed 71).
 * - models/data/natural/order.ninth.draft.txt -> order.ninth.jsonl, the ninth measured set (seed 80; the eighth is loan only).
 * - models/data/natural/order.tenth.draft.txt -> order.tenth.jsonl, the tenth measured set (seed 89).
 * - models/data/handwritten/order.draft.txt -> models/data/handwritten/order.jsonl, training texts.
 *
 * Draft line: `<intent> <style> [w=KG d=KM h=HOURS s=LEEDS,BRISTOL,GLASGOW t=TIER] :: <notes>`.
 * Blank lines and lines starting with `#` are skipped. Fields a line does not pin are drawn from a
 * seeded sampler over realistic continuous ranges that over-weights the policy thresholds (30 kg,
 * 24 h / 48 h, 300 km, all stock gone), so the set is reproducible and every note meets both sides.
 *
 * Usage: npx tsx models/data/natural/label-order.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rng } from '../generate.ts';
import { STYLES } from './styles.ts';
import { ORDER_INTENTS, orderPolicy, type OrderCase, type OrderIntent } from '../policy.ts';

export { STYLES };
const TIERS = ['standard', 'silver', 'gold', 'platinum'] as const;

/** One parsed draft line. */
export interface DraftLine {
  intent: OrderIntent;
  style: string;
  pinned: Partial<Omit<OrderCase, 'notes'>>;
  notes: string;
}

/** Parses a draft file; throws with the line number on anything malformed. */
export function parseDraft(text: string): DraftLine[] {
  const out: DraftLine[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const at = raw.indexOf(' :: ');
    if (at < 0) throw new Error(`line ${index + 1}: no ' :: ' separator`);
    const [intent, style, ...pins] = raw.slice(0, at).trim().split(/\s+/);
    const notes = raw.slice(at + 4);
    if (!ORDER_INTENTS.includes(intent as OrderIntent)) throw new Error(`line ${index + 1}: intent ${intent}`);
    if (!(STYLES as readonly string[]).includes(style!)) throw new Error(`line ${index + 1}: style ${style}`);
    const pinned: DraftLine['pinned'] = {};
    for (const pin of pins) {
      const [key, value] = pin.split('=') as [string, string];
      if (key === 'w') pinned.weightKg = Number(value);
      else if (key === 'd') pinned.distanceKm = Number(value);
      else if (key === 'h') pinned.deadlineHours = Number(value);
      else if (key === 't') pinned.customerTier = value;
      else if (key === 's') {
        const [leeds, bristol, glasgow] = value.split(',').map(Number) as [number, number, number];
        pinned.stock = { leeds, bristol, glasgow };
      } else throw new Error(`line ${index + 1}: unknown pin ${pin}`);
    }
    out.push({ intent: intent as OrderIntent, style: style!, pinned, notes });
  });
  return out;
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** Case fields for one note: realistic continuous values, thresholds over-weighted, pins kept. */
function sampleFields(r: Rand): Omit<OrderCase, 'notes'> {
  const u = r();
  const weightKg =
    u < 0.15
      ? pick(r, [29.4, 29.9, 30, 30, 30.1, 30.6, 31.2, 31.5])
      : u < 0.27
        ? round1(32 + r() * (r() < 0.2 ? 160 : 80))
        : round1(0.2 + Math.exp(r() * Math.log(28)));
  const distanceKm = r() < 0.14 ? pick(r, [297, 299, 300, 300, 301, 303]) : Math.round(12 + r() * r() * 788);
  const deadlineHours =
    r() < 0.7
      ? pick(r, [6, 10, 18, 20, 23, 24, 24, 25, 30, 36, 47, 48, 48, 49, 60, 72, 96, 120, 168, 240])
      : Math.round(3 + r() * 200);
  const stockOf = () => (r() < 0.35 ? 0 : Math.round(1 + r() * r() * 90));
  const stock =
    r() < 0.07 ? { leeds: 0, bristol: 0, glasgow: 0 } : { leeds: stockOf(), bristol: stockOf(), glasgow: stockOf() };
  const customerTier = pick(r, [
    'standard',
    'standard',
    'standard',
    'silver',
    'silver',
    'gold',
    'gold',
    'platinum',
    'platinum',
  ]);
  return { weightKg, distanceKm, stock, deadlineHours, customerTier };
}

/**
 * Draws fields for a note. For half of the notes the text must decide the label: a non-neutral
 * note gets fields where reading it as neutral routes wrongly, a neutral note gets fields where
 * misreading it as collect, bulky or urgent would route wrongly.
 */
export function fieldsFor(r: Rand, line: DraftLine): OrderCase {
  const textMatters = r() < 0.5;
  for (let attempt = 0; ; attempt++) {
    const fields = { ...sampleFields(r), ...line.pinned, notes: line.notes };
    if (!textMatters || attempt > 200) return fields;
    const label = orderPolicy(fields, line.intent);
    const others = line.intent === 'neutral' ? ORDER_INTENTS.filter((i) => i !== 'neutral') : ['neutral' as const];
    if (others.some((other) => orderPolicy(fields, other) !== label)) return fields;
  }
}

/** The test set rows, in draft order, with ids nat-order-0001... (the holdout: hold-order-0001..., seed 26). */
export function labelTestSet(lines: DraftLine[], seed = 16, prefix = 'nat-order'): object[] {
  const r = rng(seed);
  return lines.map((line, i) => {
    const vars = fieldsFor(r, line);
    if (!TIERS.includes(vars.customerTier as (typeof TIERS)[number])) throw new Error(`tier ${vars.customerTier}`);
    const ordered = {
      weightKg: vars.weightKg,
      distanceKm: vars.distanceKm,
      stock: vars.stock,
      deadlineHours: vars.deadlineHours,
      customerTier: vars.customerTier,
      notes: vars.notes,
    };
    return {
      id: `${prefix}-${String(i + 1).padStart(4, '0')}`,
      vars: ordered,
      intent: line.intent,
      policyLabel: orderPolicy(vars, line.intent),
      style: line.style,
    };
  });
}

/** The seed of each later set's field draws (the eighth set is loan only). */
const SET_SEEDS = { third: 35, fourth: 44, fifth: 53, sixth: 62, seventh: 71, ninth: 80, tenth: 89 } as const;

const toJsonl = (rows: object[]) => `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
  // Each measured set: its draft, the seed of its field draws, its id prefix and its output.
  const sets = [
    { draft: 'order.draft.txt', seed: 16, prefix: 'nat-order', out: 'order.test.jsonl' },
    { draft: 'order.holdout.draft.txt', seed: 26, prefix: 'hold-order', out: 'order.holdout.jsonl' },
    ...Object.entries(SET_SEEDS).map(([name, seed]) => ({
      draft: `order.${name}.draft.txt`,
      seed,
      prefix: `${name}-order`,
      out: `order.${name}.jsonl`,
    })),
  ];
  for (const { draft, seed, prefix, out } of sets) {
    const rows = labelTestSet(parseDraft(readFileSync(here(`./${draft}`), 'utf8')), seed, prefix);
    writeFileSync(here(`./${out}`), toJsonl(rows));
    console.log(`${out}: ${rows.length} cases`);
  }
  let train: DraftLine[] = [];
  try {
    train = parseDraft(readFileSync(here('../handwritten/order.draft.txt'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (train.length > 0) {
    writeFileSync(
      here('../handwritten/order.jsonl'),
      toJsonl(train.map((l) => ({ text: l.notes, intent: l.intent, style: l.style }))),
    );
    console.log(`handwritten/order.jsonl: ${train.length} texts`);
  }
}

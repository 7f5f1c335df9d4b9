/**
 * Free text written by applicants and customers, per intent, from a small grammar: frames with
 * `{slot}`s filled from word lists. Customers phrase the same thing many ways, so the model must
 * learn what the words mean, not memorize sentences.
 *
 * The shifted test set (distribution shift) uses frames that never occur in training, plus slot
 * values (objects, people, fillers) the training data never contains; the words that carry the
 * decision (gambling, guarantor, collect, urgent ...) are the ones a policy would name.
 */
import type { LoanIntent, OrderIntent } from './policy.ts';

export type Style = 'train' | 'shifted';
type Split = { train: string[]; shifted: string[] };
export interface Grammar {
  frames: Split;
  slots: Record<string, Split>;
}

const s = (train: string[], shifted: string[] = []): Split => ({ train, shifted });

const OBJECTS = s(
  [
    'a used car',
    'a new kitchen',
    'a bathroom renovation',
    'a new roof',
    'a new boiler',
    'our wedding',
    'a family holiday',
    'new furniture',
    'university fees',
    'driving lessons',
    'vet bills',
    'dental work',
    'new windows',
    'the garden',
    'solar panels',
    'a new fence',
    'a laptop for studying',
    'moving house',
    'a second hand van',
    'home improvements',
    'a piano for my son',
    'christmas presents',
    'carpets for the whole house',
  ],
  ['a caravan', 'a new bicycle', 'a conservatory', 'a loft conversion', 'an electric car', 'a hot tub'],
);
const PEOPLE = s(
  ['father', 'mother', 'brother', 'sister', 'partner', 'wife', 'husband', 'uncle'],
  ['aunt', 'grandfather', 'employer'],
);

export const LOAN_GRAMMAR: Record<LoanIntent, Grammar> = {
  neutral: {
    frames: s(
      [
        '{object}',
        'to pay for {object}',
        'i need money for {object}',
        'we are planning {object}',
        'the loan is for {object}',
        'paying for {object} and {object2}',
        'consolidate my credit cards and pay for {object}',
      ],
      [
        'funding {object} this year',
        'it is for {object}, nothing else',
        'covering the cost of {object} and {object2}',
        'mostly {object}',
      ],
    ),
    slots: { object: OBJECTS, object2: OBJECTS },
  },
  prohibited: {
    frames: s(
      [
        'to pay off {gamble} debts',
        'win back what i lost on {gamble}',
        'money for {gamble}',
        'cover my losses from {gamble}',
        'invest it all in {spec}',
        'buy {spec} before the price goes up',
        'repay {debt}',
        'settle {debt} that is overdue',
        '{object} and some {gamble}',
      ],
      [
        'i want to try {gamble} again and win this time',
        'put the whole amount into {spec}',
        '{debt} keeps calling me and i must pay',
        'clear what i owe after a bad run on {gamble}',
        'partly {object}, partly {spec}',
      ],
    ),
    slots: {
      gamble: s([
        'gambling',
        'betting',
        'the casino',
        'online poker',
        'sports bets',
        'the bookmaker',
        'slot machines',
        'horse racing bets',
      ]),
      spec: s(['crypto', 'bitcoin', 'cryptocurrency trading', 'meme coins', 'forex day trading']),
      debt: s(['a payday loan', 'my payday lender', 'another short term loan', 'a loan shark']),
      object: OBJECTS,
    },
  },
  uncertain: {
    frames: s(
      [
        'start {business}',
        'open {business}, no income from it yet',
        'launch {business} next month',
        'my new job starts in {n} months',
        'cover bills until my income starts again',
        'pay tax arrears owed to the tax office',
        'legal fees for a court case',
        'moving abroad to {country}',
        '{object} before i emigrate to {country}',
      ],
      [
        'getting {business} off the ground',
        'bridge the gap before my new employer pays me in {n} months',
        'a tax bill from previous years',
        'relocating overseas to {country} for good',
        'set up {business} that has not opened yet',
      ],
    ),
    slots: {
      business: s([
        'my own business',
        'a startup',
        'a cafe',
        'a food truck',
        'a restaurant',
        'an online shop',
        'a hair salon',
      ]),
      n: s(['two', 'three', 'four', 'six']),
      country: s(['spain', 'canada', 'australia', 'germany', 'dubai'], ['portugal', 'new zealand']),
      object: OBJECTS,
    },
  },
  secured: {
    frames: s(
      [
        '{object}, secured against my {asset}',
        '{object} with my {person} as guarantor',
        '{object}, my {person} will guarantee the loan',
        '{object}, loan secured on my {asset}',
        '{object} backed by my {asset} as collateral',
      ],
      [
        '{object}; i can offer my {asset} as security',
        'my {person} is guaranteeing this loan for {object}',
        'collateral: my {asset}. purpose: {object}',
        '{object} with a guarantor, my {person}',
      ],
    ),
    slots: {
      object: OBJECTS,
      asset: s(['house', 'paid off van', 'savings', 'car', 'flat', 'property'], ['motorbike', 'boat']),
      person: PEOPLE,
    },
  },
};

const DEPOTS = s(
  ['the leeds depot', 'the bristol depot', 'the glasgow depot', 'your warehouse', 'the depot', 'the counter'],
  ['your leeds site', 'the trade counter'],
);

export const ORDER_GRAMMAR: Record<OrderIntent, Grammar> = {
  neutral: {
    frames: s(
      [
        '{drop}',
        'please {contact}',
        '{drop}, {contact}',
        'gift wrap if possible',
        'it is a present for my {person}',
        'no notes',
        'the gate code is {code}',
        'flat on the {floor} floor, {drop}',
        'please do not bend the box',
      ],
      [
        '{contact} and {drop}',
        'a present for my {person}, nice wrapping please',
        'building code {code}. {drop}',
        'fragile, handle with care, {contact}',
      ],
    ),
    slots: {
      drop: s(
        [
          'leave it at the front door',
          'leave it with a neighbour',
          'leave it in the porch',
          'put it behind the bin',
          'leave it in the shed',
          'deliver to the side entrance',
        ],
        ['drop it on the porch', 'use the back entrance by the garage'],
      ),
      contact: s(
        ['call me before you arrive', 'ring the bell twice', 'knock loudly', 'text me when you are close'],
        ['phone ahead when you are near'],
      ),
      person: PEOPLE,
      code: s(['4821', '1234', '9071', '5550'], ['3318']),
      floor: s(['second', 'third', 'fourth'], ['fifth']),
    },
  },
  collect: {
    frames: s(
      [
        'i will {collect} from {depot}',
        'i live next to {depot} and can {collect}',
        'no delivery, i will {collect} myself',
        'click and collect please',
        'hold it at {depot}, i will {collect}',
        'i work near {depot} and will {collect}',
        'collect in person from {depot}',
      ],
      [
        'my office is round the corner from {depot} so i will {collect}',
        'do not send it, i can {collect} on my way home',
        'store collection suits me, i will {collect}',
        'keep it at {depot} and i will {collect}',
      ],
    ),
    slots: {
      collect: s(
        ['collect it', 'pick it up', 'fetch it', 'come and get it', 'grab it', 'swing by for it'],
        ['come for it'],
      ),
      depot: DEPOTS,
    },
  },
  urgent: {
    frames: s(
      [
        '{urgent}, {reason}',
        '{reason}, {urgent}',
        '{urgent} please',
        'this is {urgent}',
        'please {rush}, {reason}',
        '{drop}, but {urgent}',
      ],
      [
        '{reason} so we cannot wait',
        'send it by the quickest option, {reason}',
        'time critical: {reason}',
        '{rush} please, {reason}',
      ],
    ),
    slots: {
      urgent: s(['urgent', 'very urgent', 'needed asap', 'time critical', 'critical', 'as fast as possible']),
      rush: s(['rush it', 'expedite', 'send it express', 'hurry']),
      reason: s(
        [
          'needed for a wedding tomorrow',
          'the machine is down',
          'our production line has stopped',
          'the shop opens on friday',
          'the event is this weekend',
          'replacement part for a broken boiler',
        ],
        ['the ceremony is the day after tomorrow', 'our only freezer has failed'],
      ),
      drop: s(['leave it at the front door', 'leave it with a neighbour']),
    },
  },
  bulky: {
    frames: s(
      [
        'needs a {bulky}',
        '{bulky} required',
        'this is {size}, needs a {bulky}',
        'deliver to the loading bay, {bulky}',
        '{size}, arrange freight',
      ],
      [
        '{size} so send it with a {bulky}',
        'our dock can receive freight, it needs a {bulky}',
        'it takes two people to carry this, {size}',
      ],
    ),
    slots: {
      bulky: s([
        'pallet delivery',
        'two person delivery',
        'forklift to unload',
        'lorry with a tail lift',
        'pallet truck',
      ]),
      size: s(['a large crate', 'oversized', 'heavy goods', 'a very bulky item'], ['an enormous box']),
    },
  },
};

/** Neutral openings and closings around the text. */
export const FILLERS: Record<'prefix' | 'suffix', Split> = {
  prefix: s(
    ['', '', '', 'hello, ', 'hi, ', 'hi there. ', 'i would like ', 'please note: '],
    ['good morning. ', 'dear team, ', 'to whom it may concern: '],
  ),
  suffix: s(
    ['', '', '', ' thanks', ' thank you', ' please', ' thanks a lot'],
    [' cheers', ' kind regards', ' many thanks in advance'],
  ),
};

/** One text from a grammar. Shifted text uses shifted frames and both train and shifted slot values. */
export function writeText(grammar: Grammar, style: Style, random: () => number): string {
  const pick = (xs: string[]) => xs[Math.floor(random() * xs.length)]!;
  const values = (split: Split) =>
    style === 'shifted' && split.shifted.length ? [...split.train, ...split.shifted] : split.train;
  const frames = style === 'shifted' ? grammar.frames.shifted : grammar.frames.train;
  const body = pick(frames).replace(/\{(\w+)\}/g, (_, slot: string) => pick(values(grammar.slots[slot]!)));
  return `${pick(values(FILLERS.prefix))}${body}${pick(values(FILLERS.suffix))}`;
}

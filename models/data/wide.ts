/**
 * The wide generator: free text the way customers write it, far beyond the grammar of texts.ts.
 * Where texts.ts has a few frames per intent, this one composes a *purpose* (drawn from long word
 * lists: brands, makes, shops, slang, places) with a *register* (plain, text-speak, formal, hedging,
 * a question, casing, emoji, chatter around it, a long rambling note) and with the constructions the
 * grammar never had: negation ("not for the bookies, it's for ..."), corrections ("I ticked collect
 * by mistake"), mixed purposes labelled in the policy's order, and numbers in the text.
 *
 * Every text carries the intent the written policy (policy.ts) gives it: a negated forbidden purpose
 * is the purpose that remains; a mix of a forbidden and an allowed purpose is forbidden; a mix of an
 * uncertain purpose and a guarantor is uncertain (the policy reviews before it looks at security).
 *
 * Used for a share of the training and validation texts only (generate.ts SPLIT_TEXTS); the test and
 * shifted splits stay grammar-only, and no text here may equal a natural test case
 * (test/models/wide.test.ts checks both).
 */
import type { LoanIntent, OrderIntent } from './policy.ts';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number) => r() < p;
/** Fills `{slot}`s from `slots`; a slot may itself be a function of the random source. */
function fill(r: Rand, frame: string, slots: Record<string, readonly string[] | ((r: Rand) => string)>): string {
  return frame.replace(/\{(\w+)\}/g, (_, name: string) => {
    const slot = slots[name];
    if (!slot) throw new Error(`wide.ts: no slot {${name}} for "${frame}"`);
    return typeof slot === 'function' ? slot(r) : pick(r, slot);
  });
}

// ---------------------------------------------------------------------------------------------
// Loan purposes
// ---------------------------------------------------------------------------------------------

const CAR_MAKES = [
  'a ford fiesta',
  'a second hand vauxhall astra',
  'a toyota aygo',
  'a honda jazz',
  'a kia sportage',
  'a nissan leaf',
  'a skoda octavia estate',
  'a used bmw 1 series',
  'a mini cooper',
  'a hyundai i10',
  'a seat ibiza',
  'a peugeot 208',
  'a renault clio',
  'a volvo xc60',
  'a mazda mx5',
  'a dacia sandero',
  'a mercedes a class',
  'an audi a3',
  'a tesla model 3',
  'a suzuki swift',
  'a fiat 500',
  'a land rover defender',
  'a mitsubishi outlander',
];
const SHOPS_AND_GOODS = [
  'a samsung galaxy phone',
  'a dell laptop',
  'a new tv from currys',
  'a dyson hoover',
  'a sofa from dfs',
  'a bed from dreams',
  'a fridge freezer',
  'a washing machine',
  'a tumble dryer',
  'a range cooker',
  'a peloton bike',
  'a playstation for the kids',
  'an xbox for my son',
  'a nintendo switch for christmas',
  'kitchen units from b&q',
  'flooring from wickes',
  'a garden room',
  'a hot water cylinder',
  'a stairlift for my mum',
  'a mobility scooter',
  'hearing aids',
  'a new pair of glasses',
  'a electric bike',
  'a road bike',
];
const HOME = [
  'a new boiler',
  'loft insulation',
  'double glazing for the whole house',
  'new carpets',
  'rewiring the house',
  'damp proofing',
  'a new driveway',
  'landscaping the back garden',
  'a new shed',
  'new kitchen worktops',
  'a new bathroom suite',
  'roof repairs',
  'new guttering',
  'decorating the lounge',
  'a new patio',
  'a heat pump',
  'solar panels and a battery',
  'an ev charger on the drive',
  'plastering and painting',
  'replacing the windows',
  'a porch',
  'a downstairs toilet',
  'a new staircase',
  'knocking through to make an open plan kitchen',
];
const LIFE = [
  'our wedding',
  'the honeymoon',
  'a christening',
  "my mum's funeral",
  'a family holiday to florida',
  'a cruise for our anniversary',
  'flights to visit family in india',
  'a trip to see my sister in australia',
  'my 40th birthday party',
  'university fees for my daughter',
  'a nursing course',
  'my hgv licence',
  'a coding bootcamp',
  'driving lessons for my son',
  'a laptop for college',
  'dental implants',
  'braces for my daughter',
  'a private knee operation',
  'physio after my accident',
  'a new wheelchair',
  'vet bills for the dog',
  'a puppy and the vet costs',
  'moving to a bigger flat across town',
  'the deposit on a rental',
  'removal van and storage while we move house',
  'school uniforms and a laptop',
];
const CONSOLIDATE = [
  'consolidating my credit cards',
  'clearing my overdraft',
  'paying off a store card',
  'one monthly payment instead of three cards',
  'paying off my car finance early',
  'clearing the balance on my barclaycard',
  'paying off my catalogue account',
  'tidying up two credit cards into one loan',
];
const VEHICLE_WORK = ['an mot and new tyres', 'a new clutch', 'a new gearbox', 'repairs after a breakdown'];
const NEUTRAL_PURPOSES = [...CAR_MAKES, ...SHOPS_AND_GOODS, ...HOME, ...LIFE, ...CONSOLIDATE, ...VEHICLE_WORK];

const GAMBLING = [
  'betting',
  'gambling',
  'the bookies',
  'a bookmaker',
  'bet365',
  'paddy power',
  'ladbrokes',
  'coral',
  'betfred',
  'sky bet',
  'betfair',
  'betway',
  'unibet',
  'an online casino',
  'roulette',
  'blackjack',
  'a poker tournament',
  'online slots',
  'fruit machines',
  'bingo',
  'scratchcards',
  'the grand national',
  'the cheltenham festival',
  'football bets',
  'in-play bets',
  'spread betting',
  'a casino weekend in vegas',
  'the dogs at the track',
  'a poker buy-in',
  'horses',
  // Lotteries and draws are gambling too: the first models read "lottery" only in negations.
  'the lottery',
  'lottery tickets',
  'a lottery syndicate',
  'the euromillions',
  'the national lottery',
  'powerball',
  'raffle tickets',
  'prize draws',
  'the football pools',
  'instant win games',
  'keno',
];
const CRYPTO = [
  'bitcoin',
  'ethereum',
  'solana',
  'xrp',
  'shiba inu',
  'nfts',
  'altcoins',
  'crypto on binance',
  'my kraken account',
  'leveraged crypto trading',
  'a token presale',
  'memecoins',
  'day trading crypto',
  'forex',
  'cfd trading',
  'a crypto mining rig to get rich',
  'a coin my mate says will 10x',
  'crypto',
];
const PAYDAY = [
  'a payday loan',
  'my payday lender',
  'lending stream',
  'mr lender',
  'a doorstep lender',
  'a loan shark',
  'a short term loan',
  'a cash advance app',
  'a high interest short term loan',
  'quickquid',
  'a wonga loan',
];
const PROHIBITED_FRAMES = [
  '{gamble}',
  '{gamble} debts',
  'to cover my {gamble} losses',
  'put it all on {gamble}',
  'one more go at {gamble}, i can win it back',
  'paying back {payday}',
  'clearing what i owe {payday}',
  '{payday} is chasing me',
  'to repay {payday}',
  '{crypto}',
  'buying {crypto}',
  'invest in {crypto} before it goes up',
  'top up {crypto} while the price is low',
  'all in on {crypto}',
  'honestly its for {gamble}',
  'a flutter on {gamble}',
  'my system for {gamble} finally works',
];
/** Mixed purposes: anything forbidden makes the whole loan forbidden. */
const PROHIBITED_MIXED = [
  '{neutral} and a bit of {gamble}',
  '{neutral}, plus some {crypto}',
  'half {neutral}, half {crypto}',
  '{neutral} and to clear {payday}',
  'mainly {neutral} but also {gamble}',
];

const BUSINESS = [
  'a bakery',
  'a dog grooming business',
  'a nail bar',
  'a barber shop',
  'an etsy shop',
  'an amazon fba store',
  'a market stall',
  'a cleaning company',
  'a gym',
  'a tattoo studio',
  'a clothing brand',
  'a landscaping business',
  'a recording studio',
  'a franchise',
  'a food stall at festivals',
  'a window cleaning round',
  'a driving school',
  'a cake business from home',
  'a youtube channel',
];
const COUNTRIES = [
  'australia',
  'ireland',
  'france',
  'italy',
  'the usa',
  'singapore',
  'thailand',
  'south africa',
  'norway',
  'sweden',
  'the netherlands',
  'cyprus',
  'malta',
  'japan',
  'qatar',
  'hong kong',
  'greece',
  'mexico',
];
const WHEN = ['next month', 'in the spring', 'in january', 'after the summer', 'in six weeks', 'later this year'];
const UNCERTAIN_FRAMES = [
  'starting {business}',
  'to set up {business}',
  'launching {business} {when}',
  'stock and equipment for {business}, not trading yet',
  'my new job starts {when}, this tides me over',
  'between contracts until {when}',
  'on maternity leave until {when}, covering the bills',
  'waiting for my first wage from a new employer',
  'a tax bill i owe from last year',
  'vat i owe on my business',
  'tax arrears',
  'solicitor fees for a legal dispute',
  'a tribunal and legal costs',
  'emigrating to {country}',
  'moving to {country} for good',
  'relocating to {country} permanently {when}',
  'a one way move to {country}',
  'leaving the uk for {country} {when}',
];

const PEOPLE = [
  'dad',
  'mum',
  'mam',
  'nan',
  'grandad',
  'stepdad',
  'uncle',
  'aunt',
  'brother in law',
  'father in law',
  'mother in law',
  'boss',
  'best friend',
  'godfather',
  'partner',
  'fiance',
  'other half',
  'hubby',
  'wife',
  'husband',
  'son',
  'daughter',
  'cousin',
  'neighbour',
];
const ASSETS = [
  'house',
  'home',
  'flat',
  'car',
  'van',
  'savings',
  'premium bonds',
  'shares',
  'caravan',
  'motorbike',
  'business premises',
  'land',
  'jewellery',
  'boat',
  'paid off car',
];
const SECURED_FRAMES = [
  '{neutral}, secured against my {asset}',
  '{neutral} - my {person} will be guarantor',
  'my {person} has agreed to co-sign, its for {neutral}',
  'my {person} will stand as guarantor for {neutral}',
  'happy to put my {asset} up as collateral, {neutral}',
  'guarantor: my {person}. purpose: {neutral}',
  '{neutral}. i can use my {asset} as security',
  '{neutral}, backed by my {asset}',
  '{neutral} with my {person} guaranteeing it',
  '{neutral}, and my {person} is happy to be a guarantor',
  'my {person} will guarantee the repayments on {neutral}',
  '{neutral} - loan can be secured on the {asset}',
];

/** Negation: the forbidden or uncertain thing is denied; what remains decides. */
const NEGATED_TO_NEUTRAL = [
  'not for {gamble}, its for {neutral}',
  'nothing to do with {crypto}, just {neutral}',
  'no {gamble} and no {crypto}, just {neutral}',
  'i dont gamble, this is for {neutral}',
  '{neutral} (not {crypto}!)',
  'not to pay off {payday}, it is for {neutral}',
  'not starting a business or anything, just {neutral}',
  'im not moving abroad, its {neutral}',
  'no tax owed, its for {neutral}',
  'never touched {gamble} in my life, the loan is for {neutral}',
  '{neutral}, definitely not {gamble}',
];
const NEGATED_TO_PROHIBITED = [
  'not for {neutral}, its for {gamble}',
  'not really {neutral}, more {crypto}',
  'it says {neutral} but honestly its {gamble}',
];
const NEGATED_TO_UNCERTAIN = ['not {neutral}, its to start {business}', 'not a holiday, we are moving to {country}'];
const NEGATED_TO_SECURED = ['no business or anything, {neutral}, secured on my {asset}'];

const LOAN_SLOTS = {
  neutral: NEUTRAL_PURPOSES,
  gamble: GAMBLING,
  crypto: CRYPTO,
  payday: PAYDAY,
  business: BUSINESS,
  country: COUNTRIES,
  when: WHEN,
  person: PEOPLE,
  asset: ASSETS,
};

function loanBody(intent: LoanIntent, r: Rand): string {
  const negate = chance(r, 0.15);
  switch (intent) {
    case 'neutral':
      return fill(r, negate ? pick(r, NEGATED_TO_NEUTRAL) : '{neutral}', LOAN_SLOTS);
    case 'prohibited': {
      const frames = negate ? NEGATED_TO_PROHIBITED : chance(r, 0.25) ? PROHIBITED_MIXED : PROHIBITED_FRAMES;
      return fill(r, pick(r, frames), LOAN_SLOTS);
    }
    case 'uncertain': {
      if (negate) return fill(r, pick(r, NEGATED_TO_UNCERTAIN), LOAN_SLOTS);
      const body = fill(r, pick(r, UNCERTAIN_FRAMES), LOAN_SLOTS);
      // A guarantor does not lift the review: the policy reviews an uncertain purpose first.
      return chance(r, 0.15) ? `${body}, my ${pick(r, PEOPLE)} will be guarantor` : body;
    }
    case 'secured':
      return fill(r, pick(r, negate ? NEGATED_TO_SECURED : SECURED_FRAMES), LOAN_SLOTS);
  }
}

// ---------------------------------------------------------------------------------------------
// Order notes
// ---------------------------------------------------------------------------------------------

const DEPOT_NAMES = [
  'leeds',
  'bristol',
  'glasgow',
  'the leeds branch',
  'your bristol site',
  'the glasgow warehouse',
  'the depot',
  'your trade counter',
  'the nearest branch',
];
const DROPS = [
  'leave it in the porch',
  'leave it with reception',
  'put it in the safe place box',
  'leave it behind the side gate',
  'leave it in the garage, its unlocked',
  'leave it with next door at number {num}',
  'leave it in the meter cupboard',
  'hand it to the concierge',
  'use the back door',
  'leave it under the carport',
  'post it through the letterbox if it fits',
  'please put it in the blue bin, not the green one',
  'deliver to the goods in entrance',
];
const CONTACTS = [
  'call me when you arrive',
  'text me 10 mins before',
  'buzz flat {num}',
  'dont ring the bell, baby sleeping',
  'the dog is friendly, ignore the barking',
  'ring my mobile, the buzzer is broken',
  'knock on the window',
];
const OTHER_NOTES = [
  'its a gift, please dont include the invoice',
  'fragile, this way up',
  'im in all day',
  'weekdays only please',
  'no sunday deliveries please',
  'any time after 3pm is fine',
  'please reuse the packaging if you can',
  'order number is on the email',
  'its a birthday present for my nephew',
  'hope the driver has a good day',
];
const NEUTRAL_NOTES = [...DROPS, ...CONTACTS, ...OTHER_NOTES];
/** A note that denies collecting, urgency or bulk: plain delivery. */
const NEGATED_NOTES = [
  'please deliver, i cant collect',
  'not collecting, send it to my address',
  'no click and collect, home delivery please',
  'i wont be able to pick it up so deliver it please',
  'dont keep it at {depot}, post it to me',
  'im nowhere near {depot}, deliver please',
  'ignore the collect option, i want it delivered',
  'no rush at all',
  'not urgent, whenever suits',
  'no hurry, take your time',
  'small parcel, no pallet needed',
  'its light, one person can carry it',
  'no need for a forklift, its tiny',
  'not heavy at all, just a small box',
];
const COLLECT_NOTES = [
  'ill collect from {depot}',
  'pick up from {depot} please',
  'click & collect',
  'c&c at {depot}',
  'reserve it at {depot}, ill pop in',
  'ill drive over to {depot} for it',
  'my husband will collect from {depot}',
  'no delivery needed, collecting',
  'ill grab it from {depot} on my lunch break',
  'store pickup please',
  'can i collect it from {depot}?',
  'will call in to {depot} for it',
  'keep it at the counter for me',
  'im collecting in person',
  'dont deliver, ill come and get it from {depot}',
  'collection please, {depot}',
  'ill pick it up on saturday from {depot}',
  'hold it for collection',
];
const URGENT_NOTES = [
  'urgent',
  'asap please, its needed',
  'need it tomorrow',
  'needed by friday',
  'need it first thing',
  'rush order',
  'express please',
  'super urgent',
  'emergency, {why}',
  'we are stuck without it, {why}',
  'urgent, {why}',
  '{why}, need it fast',
  'as quick as you can',
  'next day please, {why}',
  'today if possible',
  'need it for monday morning',
  'desperately needed, {why}',
  'fast as poss',
  'cant wait long for this, {why}',
  'top priority please',
];
const URGENT_WHY = [
  'the boiler broke',
  'the machine is down',
  'kids party tomorrow',
  'the shop opens saturday',
  'the site is waiting',
  'the fridge died',
  'the client is on site tomorrow',
  'the heating is off and its freezing',
  'the line is stopped',
];
const BULKY_NOTES = [
  'pallet delivery',
  'two man delivery please',
  '2 man job',
  'needs two people to lift',
  'needs a forklift',
  'tail lift needed',
  'heavy, send it on a lorry',
  'oversized item',
  'its a sofa, needs two',
  'a wardrobe, very heavy',
  'its a 3 seater, two people needed',
  'flat pack wardrobe in 6 boxes, two man team please',
  'american fridge freezer, needs a two person crew',
  'we have a pallet truck on site',
  'deliver to the loading bay, its on a pallet',
  'kerbside pallet drop is fine',
  'huge crate',
  'the box is massive',
];
const ORDER_SLOTS = {
  depot: DEPOT_NAMES,
  num: (r: Rand) => String(1 + Math.floor(r() * 60)),
  why: URGENT_WHY,
};

function orderBody(intent: OrderIntent, r: Rand): string {
  switch (intent) {
    case 'neutral':
      return fill(r, pick(r, chance(r, 0.3) ? NEGATED_NOTES : NEUTRAL_NOTES), ORDER_SLOTS);
    case 'collect':
      return fill(r, pick(r, COLLECT_NOTES), ORDER_SLOTS);
    case 'urgent':
      return fill(r, pick(r, URGENT_NOTES), ORDER_SLOTS);
    case 'bulky':
      return fill(r, pick(r, BULKY_NOTES), ORDER_SLOTS);
  }
}

// ---------------------------------------------------------------------------------------------
// Registers: how people write, whatever they say
// ---------------------------------------------------------------------------------------------

const TEXTSPEAK: [RegExp, string][] = [
  [/\byou\b/g, 'u'],
  [/\bto\b/g, '2'],
  [/\bfor\b/g, '4'],
  [/\bplease\b/g, 'pls'],
  [/\bthanks\b/g, 'thx'],
  [/\btomorrow\b/g, 'tmrw'],
  [/\bbecause\b/g, 'cos'],
  [/\breally\b/g, 'rly'],
  [/\bpeople\b/g, 'ppl'],
  [/\bwith\b/g, 'w/'],
  [/\band\b/g, '&'],
  [/\bthe\b/g, 'da'],
  [/\bare\b/g, 'r'],
];
const CHATTER = {
  loan: [
    'hope you are well.',
    'weve been with the bank for years.',
    'my old one finally gave up.',
    'first time applying for anything like this.',
    'sorry if this is the wrong box.',
    'my partner said to fill this in.',
    'long story short,',
    'any questions just ask.',
    'been meaning to sort this for ages.',
    'thanks for reading.',
  ],
  order: [
    'love your stuff.',
    'second order this month.',
    'hope the weather holds.',
    'my last order came fine.',
    'any problems give me a ring.',
    'long story short,',
    'sorry for the essay.',
    'thanks for the quick service last time.',
    'the postcode sometimes confuses sat navs.',
    'thanks in advance.',
  ],
};
const FORMAL = {
  loan: (t: string) => `Dear Sir or Madam, I am writing regarding ${t}. Kind regards`,
  order: (t: string) => `Dear team, ${t}. Regards`,
};
const QUESTION = {
  loan: (t: string) => `is it ok if its for ${t}?`,
  order: (t: string) => `${t}, is that ok?`,
};
const OPENINGS = ['', '', 'hi, ', 'hello, ', 'hiya ', 'morning, ', 'ok so ', 'basically ', 'right, '];
const CLOSINGS = ['', '', ' thanks', ' cheers', ' ta', ' thank you!', ' x', ' many thanks'];
const EMOJI = ['🙏', '😊', '👍', '🚚', '🏠', '🚗', '💍', '🎉', '😅', '🤞', '📦', '!!'];
const HEDGES = ['i think ', 'probably ', 'hopefully ', 'mostly ', 'i guess ', 'should be '];

function register(body: string, r: Rand, domain: 'loan' | 'order'): string {
  const chatter = CHATTER[domain];
  const x = r();
  let text = body;
  if (x < 0.12) {
    for (const [from, to] of TEXTSPEAK) if (chance(r, 0.7)) text = text.replace(from, to);
  } else if (x < 0.2) {
    text = FORMAL[domain](text);
  } else if (x < 0.28) {
    text = `${pick(r, HEDGES)}${text}`;
  } else if (x < 0.34) {
    text = QUESTION[domain](text);
  } else if (x < 0.42) {
    text = `${pick(r, chatter)} ${text}. ${pick(r, chatter)}`;
  } else if (x < 0.46) {
    const before = [pick(r, chatter), pick(r, chatter)].join(' ');
    text = `${before} ${text}. ${pick(r, chatter)} ${pick(r, chatter)}`;
  } else if (x < 0.52) {
    text = `${text} ${pick(r, EMOJI)}`;
  } else {
    text = `${pick(r, OPENINGS)}${text}${pick(r, CLOSINGS)}`;
  }
  const casing = r();
  if (casing < 0.08) return text.toUpperCase();
  if (casing < 0.4) return text.charAt(0).toUpperCase() + text.slice(1);
  if (casing < 0.5) return text.replace(/\b\w/g, (c) => c.toUpperCase());
  return text;
}

/** A loan purpose of the given intent, as a customer might write it. */
export function wideLoanText(intent: LoanIntent, r: Rand): string {
  return register(loanBody(intent, r), r, 'loan');
}

/** A delivery note of the given intent, as a customer might write it. */
export function wideOrderText(intent: OrderIntent, r: Rand): string {
  return register(orderBody(intent, r), r, 'order');
}

export const WIDE_VOCABULARY = {
  loan: LOAN_SLOTS,
  order: {
    depot: DEPOT_NAMES,
    neutral: NEUTRAL_NOTES,
    collect: COLLECT_NOTES,
    urgent: URGENT_NOTES,
    bulky: BULKY_NOTES,
  },
};

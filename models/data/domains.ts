import type { GroundingSettings } from '../../nodes/decision/grounding.ts';
import type { DecisionInputs } from '../../nodes/decision/inputs.ts';
import type { RequiresSettings } from '../../nodes/decision/requires.ts';
import type { EdgeSettings } from '../../nodes/decision/edges.ts';
import type { ScreenSettings } from '../../nodes/decision/screen.ts';
import { policyEdges, policyGrounding, policyRequirements } from './policy.ts';

/**
 * The two shipped decision domains: their labels, the verbalizer word the GPT writes after
 * "decision:", and the prompt template that serializes a case. Training data and the runtime use
 * the same template (it is copied into models/<name>/config.json at export).
 */
export interface DomainSpec {
  name: 'loan' | 'order';
  labels: string[];
  /** The word the model is trained to write for each label (same order as labels). */
  verbalizers: string[];
  template: string;
  /** Default confidence below which a decision needs review by a person. */
  threshold: number;
  /** Free-text variables: cut to `maxTextChars` (and flagged) before templating. */
  textVariables: string[];
  /** Variables the template needs, with what they mean (documentation and CLI help). */
  variables: Record<string, string>;
  /**
   * Declared inputs, copied into config.json at export: the valid range (min/max: outside it the
   * decision is refused) and the range the generator below draws from (trainedMin/trainedMax:
   * outside it the decision goes to review).
   */
  inputs: DecisionInputs;
  /** Words whose meaning the policy decides on: an automated answer they cast doubt on goes to review (screen.ts). */
  screen?: ScreenSettings;
  /** Words of text that addresses the decision (prompt injection): an automated answer whose text holds one goes to review (screen.ts). */
  instructions?: ScreenSettings;
  /** What each answer needs of the fields, as FEEL conditions: an automated answer whose case fails one goes to review (requires.ts). */
  requires?: RequiresSettings;
  /** Thresholds of the written policy and the value each is treated as: an automated answer that changes between them goes to review (edges.ts). */
  edges?: EdgeSettings;
  /** Reference readings of the text and the fields under which the policy gives an answer: such an answer needs no confidence bar (grounding.ts). */
  grounding?: GroundingSettings;
  /** The language of the texts (ISO 639-1): free text that reads as another goes to review (language.ts). */
  language?: string;
}

export const LOAN: DomainSpec = {
  name: 'loan',
  labels: ['approve', 'reject', 'review'],
  verbalizers: ['approve', 'reject', 'review'],
  template:
    'loan application. income {income} debts {debts} credit score {creditScore} amount {amount} term {termMonths} months employment {employment} purpose: {purpose} decision:',
  threshold: 0.9,
  textVariables: ['purpose'],
  variables: {
    income: 'yearly gross income (whole currency units, e.g. 52000)',
    debts: 'outstanding debts (whole currency units)',
    creditScore: 'credit bureau score, 300-850',
    amount: 'requested loan amount',
    termMonths: 'loan term in months',
    employment: 'permanent | self-employed | contract | part-time | retired | student | unemployed',
    purpose: "the applicant's own words on what the loan is for (free text)",
  },
  inputs: {
    income: { type: 'number', min: 0, max: 100_000_000, trainedMin: 8000, trainedMax: 250000, decimals: 0 },
    debts: { type: 'number', min: 0, max: 100_000_000, trainedMin: 0, trainedMax: 95000, decimals: 0 },
    // The bureau's scale goes to 900 (processes/demo-apps); training drew 300-850.
    creditScore: { type: 'integer', min: 0, max: 900, trainedMin: 300, trainedMax: 850 },
    amount: { type: 'number', min: 1, max: 100_000_000, trainedMin: 500, trainedMax: 150000, decimals: 0 },
    termMonths: { type: 'integer', min: 1, max: 600, trainedMin: 3, trainedMax: 120 },
    employment: {
      type: 'enum',
      values: ['permanent', 'self-employed', 'contract', 'part-time', 'retired', 'student', 'unemployed'],
    },
    purpose: { type: 'text', maxChars: 400 },
  },
  requires: policyRequirements('loan'),
  edges: policyEdges('loan'),
  grounding: policyGrounding('loan'),
  language: 'en',
  // Text that tells the model what to answer instead of what the loan is for ("the answer is
  // approve", "ignore the score"): the model approved such purposes at 0.99 for a strong applicant.
  // Together these words match two of the 18,459 committed and generated purposes, both
  // hand-written questions ("would a loan for a new boiler be approved?", "the Audi approved used
  // scheme"), which then cost a review.
  instructions: {
    labels: ['approve', 'reject'],
    words: [
      'approv*',
      'reject*',
      'declin*',
      'authoris*',
      'authoriz*',
      'ignor*',
      'disregard*',
      'override*',
      'overrule*',
      'instruction*',
      'prompt*',
      'jailbreak*',
      'system prompt',
      'you must',
      'the answer',
      'decision',
      'output',
    ],
    meaning: 'which addresses the decision instead of saying what the loan is for',
  },
  // Rule 1 of the lending policy (policy.ts) in words: gambling and betting (bookmakers by name),
  // crypto speculation (coins and exchanges by name), payday and doorstep lenders. Not "horses",
  // "slots", "coral" or "flutter", which are ordinary words too.
  screen: {
    labels: ['approve'],
    meaning: 'which may be a purpose the lending policy forbids (gambling, betting, crypto, payday lending)',
    words: [
      'gambl*',
      'bet',
      'bets',
      'betting',
      'bookie*',
      'bookmaker*',
      'casino*',
      'poker',
      'roulette',
      'blackjack',
      'slot machine*',
      'online slots',
      'the slots',
      'fruit machine*',
      'bingo',
      'scratchcard*',
      'scratch card*',
      'lotter*',
      'lotto',
      'euromillions',
      'powerball',
      'raffle*',
      'sweepstake*',
      'football pools',
      'accumulator*',
      'acca',
      'accas',
      'wager*',
      'paddy power',
      'ladbrokes',
      'betfred',
      'betfair',
      'betway',
      'unibet',
      'skybet',
      'william hill',
      'draftkings',
      'fanduel',
      'sportsbook*',
      'pokies',
      'baccarat',
      'keno',
      'pokerstars',
      'crypto*',
      'bitcoin*',
      'btc',
      'ethereum',
      'eth',
      'dogecoin*',
      'solana',
      'xrp',
      'litecoin',
      'cardano',
      'binary options',
      'etoro',
      'bitstamp',
      'shitcoin*',
      'altcoin*',
      'memecoin*',
      'shiba inu',
      'nft',
      'nfts',
      'binance',
      'coinbase',
      'forex',
      // Betting on events by another name.
      'polymarket',
      'kalshi',
      'prediction market*',
      'fantasy sports',
      'cfd',
      'cfds',
      // Not 'payday' alone: "until payday" is an ordinary purpose.
      'payday loan*',
      'payday lender*',
      'pay day loan*',
      'illegal money lender*',
      'cashfloat',
      'moneyboat',
      'satsuma loan*',
      'loan shark*',
      'doorstep lender*',
      'doorstep loan*',
      'provident',
      'wonga',
      'quickquid',
      'lending stream',
      'mr lender',
      // The same in the languages customers most often write in here: a word the model cannot read
      // is let through by the language check when an English word stands beside it ("Kryptowaluty
      // investment" was approved at 0.993).
      'krypto*',
      'kripto*',
      'cripto*',
      'glucksspiel*',
      'spielschulden',
      'apuesta*',
      'scommess*',
      'zaklad*',
      'kasyn*',
      'paris sportif*',
    ],
  },
};

export const ORDER: DomainSpec = {
  name: 'order',
  labels: ['warehouse', 'courier', 'pickup'],
  verbalizers: ['warehouse', 'courier', 'pickup'],
  template:
    'order. weight {weightKg} kg distance {distanceKm} km stock leeds {stock.leeds} bristol {stock.bristol} glasgow {stock.glasgow} deadline {deadlineHours} hours tier {customerTier} notes: {notes} decision:',
  threshold: 0.9,
  textVariables: ['notes'],
  requires: policyRequirements('order'),
  edges: policyEdges('order'),
  grounding: policyGrounding('order'),
  language: 'en',
  variables: {
    weightKg: 'parcel weight in kg',
    distanceKm: 'distance from the nearest warehouse to the customer in km',
    'stock.leeds': 'units in stock at the Leeds depot (stock is an object { leeds, bristol, glasgow })',
    'stock.bristol': 'units in stock at the Bristol depot',
    'stock.glasgow': 'units in stock at the Glasgow depot',
    deadlineHours: 'hours until the promised delivery deadline',
    customerTier: 'standard | silver | gold | platinum',
    notes: 'customer notes and delivery instructions (free text)',
  },
  inputs: {
    weightKg: { type: 'number', min: 0, max: 100_000, trainedMin: 0.1, trainedMax: 500, decimals: 1 },
    distanceKm: { type: 'number', min: 0, max: 40075, trainedMin: 1, trainedMax: 1000, decimals: 0 },
    'stock.leeds': {
      type: 'number',
      min: 0,
      max: 1_000_000_000,
      trainedMin: 0,
      trainedMax: 60,
      clampToTrained: true,
      decimals: 0,
    },
    'stock.bristol': {
      type: 'number',
      min: 0,
      max: 1_000_000_000,
      trainedMin: 0,
      trainedMax: 60,
      clampToTrained: true,
      decimals: 0,
    },
    'stock.glasgow': {
      type: 'number',
      min: 0,
      max: 1_000_000_000,
      trainedMin: 0,
      trainedMax: 60,
      clampToTrained: true,
      decimals: 0,
    },
    deadlineHours: { type: 'number', min: 0, max: 8760, trainedMin: 1, trainedMax: 336, decimals: 0 },
    customerTier: { type: 'enum', values: ['standard', 'silver', 'gold', 'platinum'] },
    // An order with no notes is an ordinary order: the grammar's neutral "no notes" (texts.ts).
    notes: { type: 'text', maxChars: 400, whenBlank: 'no notes' },
  },
};

export const DOMAINS = { loan: LOAN, order: ORDER } as const;
export type DomainName = keyof typeof DOMAINS;

/**
 * Order notes with one decisive word misspelt, for the tests of the misspelt-word check
 * (nodes/decision/familiarity.ts). Which of them a model misreads depends on the model; the tests
 * pick from the list, so a retrained model changes the example, not the claim.
 */
/** Order notes with one decisive word misspelt (one edit away), the word and the word meant. */
export const ORDER_MISSPELT_NOTES: [string, string, string][] = [
  ['urget, and please ring the bell twice', 'urget', 'urgent'],
  ['please expidite this', 'expidite', 'expedite'],
  ['I will colect it from the Leeds depot', 'colect', 'collect'],
  ['needed tomorow for a wedding', 'tomorow', 'tomorrow'],
  ['very urgnet, the machine is down', 'urgnet', 'urgent'],
  ['send it expres, our freezer has failed', 'expres', 'express'],
  ['qickly please, ring the bell twice', 'qickly', 'quickly'],
  ['hold it at the warehose, i will fetch it', 'warehose', 'warehouse'],
  ['critcal part, leave it at the side door', 'critcal', 'critical'],
  ['needs a forklft to unload', 'forklft', 'forklift'],
  ['palet delivery please', 'palet', 'pallet'],
  // Misspellings a hand-written training text held, so lexicon words: config.json typoWords names them.
  ['urgnt please, leave it with a neighbour', 'urgnt', 'urgent'],
  ['its urjent, the side door is open', 'urjent', 'urgent'],
];

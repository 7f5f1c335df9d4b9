/** The special tokens every Operon tokenizer starts with, in id order: pad 0, unk 1, eos 2. */
export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<eos>'] as const;

/** Review answers as training data: the logic lives with the store (engine/store/review.ts), which writes it. */
export * from '../store/review.ts';

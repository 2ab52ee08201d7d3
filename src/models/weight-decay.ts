/**
 * Whether a variable should get weight decay: matrices only (Linear/conv kernels, depthwise kernels), not biases,
 * norms, tokens, position embeddings, relative-position tables, logit scales or layer-scale lambdas.
 */
export function usesWeightDecay(originalName: string, rank: number): boolean {
  if (rank < 2) return false;
  return /kernel$/.test(originalName);
}

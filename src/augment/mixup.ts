import type { Rng } from '../util/random.js';

/**
 * MixUp on a batch (float HWC images + soft targets), in place: each image becomes lam * itself + (1 - lam) * a
 * random partner, and its target the same mix of both targets (so every target row still sums to 1).
 * One lam ~ Beta(alpha, alpha) per batch, as in the MixUp paper; partners are read from a copy.
 */
export function mixupBatch(images: Float32Array, targets: Float32Array, batch: number, size: number, numClasses: number, alpha: number, rng: Rng): void {
  const lam = rng.betaSymmetric(alpha);
  const perm = rng.shuffle(Array.from({ length: batch }, (_, i) => i));
  const srcImages = images.slice();
  const srcTargets = targets.slice();
  const imgLen = size * size * 3;
  for (let b = 0; b < batch; b++) {
    const p = perm[b]!;
    const o = b * imgLen;
    const po = p * imgLen;
    for (let i = 0; i < imgLen; i++) images[o + i] = lam * srcImages[o + i]! + (1 - lam) * srcImages[po + i]!;
    for (let c = 0; c < numClasses; c++) {
      targets[b * numClasses + c] = lam * srcTargets[b * numClasses + c]! + (1 - lam) * srcTargets[p * numClasses + c]!;
    }
  }
}

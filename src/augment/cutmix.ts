import type { Rng } from '../util/random.js';

/**
 * CutMix on a batch (float HWC images + soft targets), in place: each image gets a box pasted from a random partner,
 * and its target becomes the area-weighted mix of both targets. Partners are read from a copy, so pairs are symmetric.
 */
export function cutmixBatch(images: Float32Array, targets: Float32Array, batch: number, size: number, numClasses: number, alpha: number, rng: Rng): void {
  const lam = rng.betaSymmetric(alpha);
  const cut = Math.sqrt(1 - lam);
  const cw = Math.round(size * cut);
  const ch = Math.round(size * cut);
  if (cw === 0 || ch === 0) return;
  const cx = rng.int(size);
  const cy = rng.int(size);
  const x0 = Math.max(0, cx - (cw >> 1));
  const x1 = Math.min(size, cx + (cw >> 1));
  const y0 = Math.max(0, cy - (ch >> 1));
  const y1 = Math.min(size, cy + (ch >> 1));
  const area = ((x1 - x0) * (y1 - y0)) / (size * size);
  if (area === 0) return;
  const perm = rng.shuffle(Array.from({ length: batch }, (_, i) => i));
  const srcImages = images.slice();
  const srcTargets = targets.slice();
  const imgLen = size * size * 3;
  for (let b = 0; b < batch; b++) {
    const p = perm[b]!;
    for (let y = y0; y < y1; y++) {
      const row = (y * size + x0) * 3;
      images.set(srcImages.subarray(p * imgLen + row, p * imgLen + row + (x1 - x0) * 3), b * imgLen + row);
    }
    for (let c = 0; c < numClasses; c++) {
      targets[b * numClasses + c] = (1 - area) * srcTargets[b * numClasses + c]! + area * srcTargets[p * numClasses + c]!;
    }
  }
}

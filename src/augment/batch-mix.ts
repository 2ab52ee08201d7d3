import type { Rng } from '../util/random.js';
import { cutmixBatch } from './cutmix.js';
import { mixupBatch } from './mixup.js';
import type { AugmentConfig } from './pipeline.js';

export type BatchMix = 'none' | 'cutmix' | 'mixup';

/**
 * The batch-level mixing step a trainer runs after the per-image augmentation: CutMix with probability `cutmix`,
 * else MixUp with probability `mixup` (at most one per batch, as timm does). Returns which one ran.
 * Draws from `rng` only for the mixes that are enabled, so a config with both off consumes no random numbers.
 */
export function mixBatch(images: Float32Array, targets: Float32Array, batch: number, size: number, numClasses: number, cfg: Pick<AugmentConfig, 'cutmix' | 'cutmixAlpha' | 'mixup' | 'mixupAlpha'>, rng: Rng): BatchMix {
  if (cfg.cutmix > 0 && rng.next() < cfg.cutmix) {
    cutmixBatch(images, targets, batch, size, numClasses, cfg.cutmixAlpha, rng);
    return 'cutmix';
  }
  if (cfg.mixup > 0 && rng.next() < cfg.mixup) {
    mixupBatch(images, targets, batch, size, numClasses, cfg.mixupAlpha, rng);
    return 'mixup';
  }
  return 'none';
}

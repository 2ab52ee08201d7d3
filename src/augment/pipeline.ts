import { z } from 'zod';
import type { Rng } from '../util/random.js';
import { colorJitter } from './color-jitter.js';
import { type CropBox, sampleCrop, sampleFull } from './sample-image.js';

export const augmentSchema = z.object({
  hflip: z.boolean().default(true),
  /** Random-resized-crop scale range (fraction of the image area kept); [1, 1] disables cropping. */
  cropScale: z.tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)]).default([0.6, 1]),
  brightness: z.number().min(0).max(1).default(0.2),
  contrast: z.number().min(0).max(1).default(0.2),
  saturation: z.number().min(0).max(1).default(0.2),
  /** Probability of applying CutMix to a batch (0 disables). */
  cutmix: z.number().min(0).max(1).default(0),
  cutmixAlpha: z.number().gt(0).default(1),
  /** Probability of applying MixUp to a batch that CutMix left alone (0 disables); soft labels. */
  mixup: z.number().min(0).max(1).default(0),
  /** MixUp Beta(a, a) parameter (0.2-0.4 is the usual ImageNet range; 1 = uniform mixing weight). */
  mixupAlpha: z.number().gt(0).default(0.4),
  /** Probability of drawing a training view from the 256px copy (decoded at 2x input size) instead of the 64px image. */
  upscaleProb: z.number().min(0).max(1).default(0),
}).strict();
export type AugmentConfig = z.infer<typeof augmentSchema>;

/** A random-resized-crop box (area fraction in `cropScale`, aspect 3/4-4/3), or undefined when cropping is off. */
export function randomCropBox(srcSize: number, cropScale: readonly [number, number], rng: Rng): CropBox | undefined {
  const [lo, hi] = cropScale;
  if (!(hi - lo > 1e-6 || lo < 1)) return undefined;
  const scale = rng.uniform(lo, hi);
  const ratio = Math.exp(rng.uniform(Math.log(3 / 4), Math.log(4 / 3)));
  const w = Math.min(srcSize, srcSize * Math.sqrt(scale * ratio));
  const h = Math.min(srcSize, srcSize * Math.sqrt(scale / ratio));
  return { x: rng.uniform(0, srcSize - w), y: rng.uniform(0, srcSize - h), w, h };
}

/** Writes one augmented view of `src` (HWC uint8, srcSize^2) into out[offset..] as float [0,1] at outSize^2. */
export function augmentImage(src: Uint8Array, srcSize: number, out: Float32Array, offset: number, outSize: number, cfg: AugmentConfig, rng: Rng): void {
  const flip = cfg.hflip && rng.next() < 0.5;
  const box = randomCropBox(srcSize, cfg.cropScale, rng);
  if (box) sampleCrop(src, srcSize, box, out, offset, outSize, flip);
  else sampleFull(src, srcSize, out, offset, outSize, flip);
  if (cfg.brightness || cfg.contrast || cfg.saturation) colorJitter(out, offset, outSize * outSize, cfg, rng);
}

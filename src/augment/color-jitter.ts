import type { Rng } from '../util/random.js';

export interface ColorJitterConfig {
  brightness: number;
  contrast: number;
  saturation: number;
}

/** torchvision-style ColorJitter (brightness, contrast, saturation) on one float [0,1] HWC image, in random order. */
export function colorJitter(img: Float32Array, offset: number, pixels: number, cfg: ColorJitterConfig, rng: Rng): void {
  const ops: (() => void)[] = [];
  if (cfg.brightness > 0) {
    const f = rng.uniform(1 - cfg.brightness, 1 + cfg.brightness);
    ops.push(() => blend(img, offset, pixels, f, () => 0));
  }
  if (cfg.contrast > 0) {
    const f = rng.uniform(1 - cfg.contrast, 1 + cfg.contrast);
    ops.push(() => {
      let mean = 0;
      for (let p = 0; p < pixels; p++) mean += gray(img, offset + p * 3);
      mean /= pixels;
      blend(img, offset, pixels, f, () => mean);
    });
  }
  if (cfg.saturation > 0) {
    const f = rng.uniform(1 - cfg.saturation, 1 + cfg.saturation);
    ops.push(() => blend(img, offset, pixels, f, (o) => gray(img, o)));
  }
  rng.shuffle(ops).forEach((op) => op());
}

function gray(img: Float32Array, o: number): number {
  return 0.299 * img[o]! + 0.587 * img[o + 1]! + 0.114 * img[o + 2]!;
}

/** img = clamp(f * img + (1 - f) * other(pixelOffset)). */
function blend(img: Float32Array, offset: number, pixels: number, f: number, other: (o: number) => number): void {
  for (let p = 0; p < pixels; p++) {
    const o = offset + p * 3;
    const g = other(o);
    for (let c = 0; c < 3; c++) {
      const v = f * img[o + c]! + (1 - f) * g;
      img[o + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}

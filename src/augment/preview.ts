import type { Dataset } from '../data/dataset.js';
import { loadImages, PixelCache } from '../data/pixel-cache.js';
import { imageGridPng, type GridTile } from '../util/image-grid.js';
import { Rng } from '../util/random.js';
import { mixBatch } from './batch-mix.js';
import { augmentImage, type AugmentConfig } from './pipeline.js';

export interface PreviewOptions {
  n: number;
  seed: number;
  inputSize: number;
  augment: AugmentConfig;
  cache?: PixelCache;
}

/**
 * Renders one training batch of `n` images as the training engine's image task builds it (src/train/tasks/image-task.ts): per-image augmentation from
 * the 64px image or, with probability `upscaleProb`, from the 256px copy decoded at 2x the input size (at most 256px); then the
 * batch-level CutMix/MixUp (mixBatch). Captions show each sample's soft target (top two classes).
 * The same seed gives the same PNG.
 */
export async function augmentPreviewPng(ds: Dataset, opts: PreviewOptions): Promise<{ png: Buffer; mix: string }> {
  const rng = new Rng(opts.seed);
  const order = rng.shuffle(ds.samples.map((_, i) => i)).slice(0, Math.min(opts.n, ds.samples.length));
  const samples = order.map((i) => ds.samples[i]!);
  const cache = opts.cache ?? new PixelCache();
  const size = opts.inputSize;
  const lowSize = Math.max(64, size);
  const low = await loadImages(samples.map((s) => s.path), lowSize, cache);
  const upSize = Math.min(2 * size, Math.max(size, 256));
  const hasUp = opts.augment.upscaleProb > 0 && samples.every((s) => s.upscalePath);
  const up = hasUp ? await loadImages(samples.map((s) => s.upscalePath!), upSize, cache) : undefined;
  const imgLen = size * size * 3;
  const x = new Float32Array(samples.length * imgLen);
  const numClasses = ds.classes.length;
  const y = new Float32Array(samples.length * numClasses);
  const fromUp: boolean[] = [];
  samples.forEach((s, b) => {
    const useUp = up !== undefined && rng.next() < opts.augment.upscaleProb;
    fromUp.push(useUp);
    if (useUp) augmentImage(up![b]!, upSize, x, b * imgLen, size, opts.augment, rng);
    else augmentImage(low[b]!, lowSize, x, b * imgLen, size, opts.augment, rng);
    if (s.label !== undefined) y[b * numClasses + s.label] = 1;
  });
  const mix = mixBatch(x, y, samples.length, size, numClasses, opts.augment, rng);
  const tiles: GridTile[] = samples.map((_, b) => {
    const rgb = new Uint8Array(imgLen);
    for (let i = 0; i < imgLen; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(x[b * imgLen + i]! * 255)));
    const row = Array.from(y.subarray(b * numClasses, (b + 1) * numClasses));
    const top = row.map((p, c) => [p, c] as const).filter(([p]) => p > 0.005).sort((a, z) => z[0] - a[0]).slice(0, 2);
    const caption = (fromUp[b] ? '[256] ' : '') + top.map(([p, c]) => `${p.toFixed(2)} ${ds.classes[c]}`).join('\n');
    return { rgb, width: size, height: size, caption };
  });
  const png = await imageGridPng(tiles, { cell: Math.max(128, size), title: `augment preview: seed ${opts.seed}, batch mix: ${mix}` });
  return { png, mix };
}

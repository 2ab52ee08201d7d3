import fs from 'node:fs';
import path from 'node:path';
import { writeCsv } from '../data/csv.js';
import type { Dataset, ImageSample } from '../data/dataset.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { cropImage, type CropMode } from './crop.js';
import { boxOnImage, type DetectionRecord } from './detect-birds.js';
import { polygonMask } from './polygon-mask.js';
import { decodeRgb, encodePng, type RgbImage, type UpscaleMethod, upscaleRgb, resizeRgb } from './upscale.js';
import { lanczosEnlarge } from './lanczos.js';

/** `none` keeps the whole image (with `sr`: test-time super-resolution, the seed's row C). */
export type PreprocessMode = CropMode | 'none';

export interface PreprocessOptions {
  mode: PreprocessMode;
  /** Output image side (default 64, the dataset's). */
  size?: number;
  sr?: UpscaleMethod;
  onProgress?: (done: number, total: number) => void;
  /**
   * Which images are preprocessed (default all): the others are referenced as they are (their own file and 256px
   * copy), e.g. test-time super-resolution touches only validation and test images.
   */
  apply?: (split: 'train' | 'test', sample: ImageSample) => boolean;
}

/** One output image: the crop (or whole image) of a record, as PNG bytes. */
export async function preprocessOne(rec: DetectionRecord | undefined, file: string, opts: PreprocessOptions): Promise<RgbImage> {
  const size = opts.size ?? 64;
  const img = await decodeRgb(file);
  if (opts.mode === 'none' || !rec) {
    const up = opts.sr ? await upscaleRgb(img, opts.sr, 4) : img;
    if (up.width === size && up.height === size) return up;
    if (up.width <= size && up.height <= size) return { rgb: lanczosEnlarge(up.rgb, up.width, up.height, size, size), width: size, height: size };
    return resizeRgb(up, size, size, 'lanczos3');
  }
  const { box, polygon } = boxOnImage(rec);
  let mask: Uint8Array | undefined;
  if (opts.mode === 'contour') mask = polygon.length >= 6 ? await polygonMask(polygon, img.width, img.height) : new Uint8Array(img.width * img.height).fill(1);
  return cropImage(img, box, opts.mode, { size, mask, sr: opts.sr });
}

/**
 * Writes a DACON-format dataset folder a training config can point `data:` at: `train/<id>.png` + `train.csv`
 * (id,img_path,label), `test/<id>.png` + `test.csv` when a test set is given, and `classes.txt`. Each image is the
 * crop of its detection (boxes mapped to the image's own size; no bird -> the whole image) in `mode`, optionally
 * super-resolved before the final resize. Finished images are skipped on a re-run; each file is written atomically.
 */
export async function writePreprocessedDataset(output: string, train: Dataset, test: Dataset | undefined, detections: Map<string, DetectionRecord>, opts: PreprocessOptions): Promise<{ train: number; test: number; fallback: number }> {
  // finished images are reused on a re-run, so a folder holding crops of another kind must not be mixed into
  const settings = JSON.stringify({ mode: opts.mode, sr: opts.sr ?? null, size: opts.size ?? 64 });
  const marker = path.join(output, 'preprocess.json');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() !== settings) {
    throw new UserError(`--output: ${output} already holds images made with ${fs.readFileSync(marker, 'utf8').trim()}, not ${settings}; use another --output (detections.jsonl can be copied there to skip detection)`);
  }
  writeFileAtomic(marker, settings + '\n');
  const total = train.samples.length + (test?.samples.length ?? 0);
  let done = 0;
  let fallback = 0;
  const one = async (split: 'train' | 'test', s: ImageSample): Promise<{ img: string; upscale: string }> => {
    if (opts.apply && !opts.apply(split, s)) {
      opts.onProgress?.(++done, total);
      return { img: s.path, upscale: s.upscalePath ?? '' };
    }
    const rel = `./${split}/${s.id}.png`;
    const target = path.join(output, split, `${s.id}.png`);
    const rec = detections.get(s.id);
    if (opts.mode !== 'none' && (!rec || !rec.box)) fallback++;
    if (!fs.existsSync(target)) writeFileAtomic(target, await encodePng(await preprocessOne(rec, s.path, opts)));
    opts.onProgress?.(++done, total);
    return { img: rel, upscale: '' };
  };
  const trainRows: { id: string; img: string; upscale: string; label: string }[] = [];
  for (const s of train.samples) trainRows.push({ id: s.id, ...(await one('train', s)), label: train.classes[s.label!]! });
  if (trainRows.some((r) => r.upscale)) writeCsv(path.join(output, 'train.csv'), ['id', 'img_path', 'upscale_img_path', 'label'], trainRows.map((r) => [r.id, r.img, r.upscale, r.label]));
  else writeCsv(path.join(output, 'train.csv'), ['id', 'img_path', 'label'], trainRows.map((r) => [r.id, r.img, r.label]));
  writeFileAtomic(path.join(output, 'classes.txt'), train.classes.join('\n') + '\n');
  if (test) {
    const testRows: string[][] = [];
    for (const s of test.samples) testRows.push([s.id, (await one('test', s)).img]);
    writeCsv(path.join(output, 'test.csv'), ['id', 'img_path'], testRows);
  }
  return { train: train.samples.length, test: test?.samples.length ?? 0, fallback };
}

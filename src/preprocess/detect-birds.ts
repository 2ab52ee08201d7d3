import fs from 'node:fs';
import type { ImageSample } from '../data/dataset.js';
import { appendLine } from '../util/append-line.js';
import { type Box, scaleBox, scalePolygon } from './boxes.js';
import type { BirdDetection } from './coco-ssd.js';
import { grabCutMask } from './grabcut.js';
import { decodeRgb, resizeRgb, type RgbImage, type UpscaleMethod, upscaleRgb } from './upscale.js';

/** One image's detection, in the coordinates of the image the detector saw (`source`). */
export interface DetectionRecord {
  id: string;
  /** The (64px) image crops are cut from. */
  file: string;
  width: number;
  height: number;
  /**
   * Where the box came from: the detector on the 256px copy, the detector on the image upscaled x4 (no copy), or the
   * low-resolution box model on the image itself (no copy, `boxModel` given; always a box, score 1).
   */
  source: 'copy' | 'upscaled' | 'box-model';
  /** The 256px copy's path when source is 'copy'. */
  sourceFile: string | null;
  sourceWidth: number;
  sourceHeight: number;
  /** Best bird box in source pixels, or null when no bird scored >= minScore (the crop falls back to the whole image). */
  box: Box | null;
  score: number;
  /** Outline of the GrabCut foreground inside the box, in source pixels (empty when no box). */
  polygon: number[];
  /** Foreground pixels / box pixels (GrabCut). */
  fillRatio: number;
}

export type BirdDetector = (rgb: Uint8Array, width: number, height: number) => Promise<BirdDetection[]>;

export interface DetectBirdsOptions {
  detector: BirdDetector;
  /** JSON-lines file: records already in it are reused (resume), new ones are appended as they are made. */
  cacheFile?: string;
  /** GrabCut runs on the source image reduced to this size (default 128 px; 256 px is ~10x slower, same masks within a few %). */
  maskSize?: number;
  /** Skip GrabCut (no polygons; contour crops then use the whole box). */
  noMask?: boolean;
  /**
   * For images without a 256px copy: when the detector on the x4 image finds no bird scoring >= `boxModelBelow`, the
   * box comes from this low-resolution box model instead (held-out mean IoU 0.69 vs 0.46 for the detector alone,
   * bench/results/box-model.md).
   */
  boxModel?: (rgb: Uint8Array, width: number, height: number) => Box;
  boxModelBelow?: number;
  /** How images without a 256px copy are enlarged x4 before detection (default lanczos). */
  upscale?: UpscaleMethod;
  onProgress?: (done: number, total: number, found: number) => void;
}

function readCache(file: string | undefined): Map<string, DetectionRecord> {
  const out = new Map<string, DetectionRecord>();
  if (!file || !fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as DetectionRecord;
      out.set(r.id, r);
    } catch {
      // a line cut short by a kill: that image is detected again
    }
  }
  return out;
}

/**
 * Finds the bird in every sample: on its 256px copy when it has one (as the seed did), else on the image enlarged x4.
 * The best box (highest bird score) is kept; GrabCut inside it gives the foreground outline for contour crops.
 * Resumable through `cacheFile`.
 */
export async function detectBirds(samples: ImageSample[], opts: DetectBirdsOptions): Promise<DetectionRecord[]> {
  const cache = readCache(opts.cacheFile);
  const out: DetectionRecord[] = [];
  let found = 0;
  for (const s of samples) {
    let rec = cache.get(s.id);
    const expected = s.upscalePath ? ['copy'] : opts.boxModel ? ['upscaled', 'box-model'] : ['upscaled'];
    if (!rec || rec.file !== s.path || !expected.includes(rec.source)) {
      rec = await detectOne(s, opts);
      if (opts.cacheFile) appendLine(opts.cacheFile, JSON.stringify(rec));
    }
    if (rec.box) found++;
    out.push(rec);
    opts.onProgress?.(out.length, samples.length, found);
  }
  return out;
}

async function detectOne(s: ImageSample, opts: DetectBirdsOptions): Promise<DetectionRecord> {
  const low = await decodeRgb(s.path);
  let src: RgbImage;
  let source: DetectionRecord['source'];
  if (s.upscalePath) {
    src = await decodeRgb(s.upscalePath);
    source = 'copy';
  } else {
    src = await upscaleRgb(low, opts.upscale ?? 'lanczos', 4);
    source = 'upscaled';
  }
  const dets = await opts.detector(src.rgb, src.width, src.height);
  const rec: DetectionRecord = { id: s.id, file: s.path, width: low.width, height: low.height, source, sourceFile: s.upscalePath ?? null, sourceWidth: src.width, sourceHeight: src.height, box: null, score: 0, polygon: [], fillRatio: 0 };
  const best = dets[0];
  if (!s.upscalePath && opts.boxModel && !(best && best.score >= (opts.boxModelBelow ?? 0))) {
    const mrec: DetectionRecord = { ...rec, source: 'box-model', sourceWidth: low.width, sourceHeight: low.height, box: opts.boxModel(low.rgb, low.width, low.height), score: 1 };
    return opts.noMask ? mrec : addMask(mrec, low, opts);
  }
  if (!best) return rec;
  rec.box = best.box;
  rec.score = best.score;
  return opts.noMask ? rec : addMask(rec, src, opts);
}

/** GrabCut inside the record's box on `src` (the image the box is in), at maskSize px. */
async function addMask(rec: DetectionRecord, src: RgbImage, opts: DetectBirdsOptions): Promise<DetectionRecord> {
  const ms = opts.maskSize ?? 128;
  const small = src.width === ms && src.height === ms ? src : await resizeRgb(src, ms, ms, 'lanczos3');
  const g = await grabCutMask(small.rgb, ms, ms, scaleBox(rec.box!, src.width, src.height, ms, ms));
  rec.polygon = scalePolygon(g.polygon, ms, ms, src.width, src.height);
  rec.fillRatio = g.fillRatio;
  return rec;
}

/** The record's box and polygon in the coordinates of the image crops are cut from (e.g. 256px copy -> 64px). */
export function boxOnImage(r: DetectionRecord): { box: Box; polygon: number[]; fallback: boolean } {
  if (!r.box) return { box: { x: 0, y: 0, w: r.width, h: r.height }, polygon: [], fallback: true };
  return {
    box: scaleBox(r.box, r.sourceWidth, r.sourceHeight, r.width, r.height),
    polygon: scalePolygon(r.polygon, r.sourceWidth, r.sourceHeight, r.width, r.height),
    fallback: false,
  };
}

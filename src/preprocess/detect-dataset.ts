import path from 'node:path';
import type { ImageSample } from '../data/dataset.js';
import { imageGridPng, type GridTile } from '../util/image-grid.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { loadBoxModel, predictBoxes } from './box-model.js';
import { toCocoJson } from './coco-json.js';
import { detectBirdBoxes, loadCocoSsd } from './coco-ssd.js';
import { detectBirds, type DetectionRecord } from './detect-birds.js';
import type { NpmFetchOptions } from './npm-tarball.js';
import { decodeRgb, upscaleRgb } from './upscale.js';

/** Boxes below this score are not even kept in the cache, so any --min-score above it reuses cached detections. */
const CACHE_FLOOR = 0.1;

export interface DetectDatasetOptions extends NpmFetchOptions {
  minScore: number;
  noMask?: boolean;
  /** Folder of a saved box model (box-model.ts): boxes for images without a 256px copy come from it. */
  boxModelDir?: string;
  onProgress?: (done: number, total: number, found: number) => void;
}

export interface DetectSummary {
  copy: { images: number; found: number };
  upscaled: { images: number; found: number };
  boxModel: { images: number };
  meanScore: number;
}

/**
 * The whole detection stage for a list of images, into `output`: detections.jsonl (resumable cache), coco.json
 * (boxes and outlines on the dataset images, e.g. 64px), coco_source.json (on the 256px copies) and boxes.png
 * (the first 36 images with their box and outline). Boxes scoring below `minScore` count as "no bird".
 */
export async function detectBirdsInDataset(samples: ImageSample[], output: string, opts: DetectDatasetOptions): Promise<{ records: DetectionRecord[]; byId: Map<string, DetectionRecord>; summary: DetectSummary }> {
  const model = await loadCocoSsd(opts);
  const boxModel = opts.boxModelDir ? await loadBoxModel(opts.boxModelDir) : undefined;
  const raw = await detectBirds(samples, {
    detector: (rgb, w, h) => detectBirdBoxes(model, rgb, w, h, CACHE_FLOOR),
    boxModel: boxModel && ((rgb, w, h) => predictBoxes(boxModel, [rgb], w)[0]!),
    boxModelBelow: opts.minScore,
    cacheFile: path.join(output, 'detections.jsonl'),
    noMask: opts.noMask,
    onProgress: opts.onProgress,
  });
  const records = raw.map((r) => (r.box && r.score >= opts.minScore ? r : { ...r, box: null, polygon: [], fillRatio: 0 }));
  writeFileAtomic(path.join(output, 'coco.json'), JSON.stringify(toCocoJson(records, 'image', opts.minScore)) + '\n');
  writeFileAtomic(path.join(output, 'coco_source.json'), JSON.stringify(toCocoJson(records, 'source', opts.minScore)) + '\n');
  writeFileAtomic(path.join(output, 'boxes.png'), await boxOverlayPng(records.slice(0, 36)));
  const part = (src: DetectionRecord['source']) => ({ images: records.filter((r) => r.source === src).length, found: records.filter((r) => r.source === src && r.box).length });
  const hits = records.filter((r) => r.box);
  return {
    records,
    byId: new Map(records.map((r) => [r.id, r])),
    summary: { copy: part('copy'), upscaled: part('upscaled'), boxModel: { images: part('box-model').images }, meanScore: hits.length ? hits.reduce((a, r) => a + r.score, 0) / hits.length : 0 },
  };
}

/** The images the detector saw, with the bird box (red) and the GrabCut outline (green); "no bird" captions. */
export async function boxOverlayPng(records: DetectionRecord[]): Promise<Buffer> {
  const tiles: GridTile[] = [];
  for (const r of records) {
    const src = r.sourceFile ? await decodeRgb(r.sourceFile) : await upscaleRgb(await decodeRgb(r.file), 'lanczos', r.sourceWidth / r.width);
    tiles.push({
      ...src,
      caption: `${r.id}\n${r.source === 'box-model' ? 'box model' : r.box ? `bird ${r.score.toFixed(2)}` : 'no bird: whole image'}`,
      boxes: r.box ? [{ ...r.box }] : [],
      polygons: r.polygon.length >= 6 ? [r.polygon] : [],
    });
  }
  return imageGridPng(tiles, { cols: 6, cell: 160, title: 'COCO SSDLite bird boxes (red) and GrabCut outlines (green)' });
}

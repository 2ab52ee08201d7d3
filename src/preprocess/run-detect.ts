import fs from 'node:fs';
import path from 'node:path';
import { loadDaconTest } from '../data/dacon.js';
import type { Dataset } from '../data/dataset.js';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { CROP_MODES } from './crop.js';
import { detectBirdsInDataset, type DetectSummary } from './detect-dataset.js';
import { type PreprocessMode, writePreprocessedDataset } from './preprocess-dataset.js';
import type { UpscaleMethod } from './upscale.js';

export interface RunDetectOptions {
  /** DACON folder with train.csv (+ test.csv). */
  data: string;
  output: string;
  mode?: PreprocessMode;
  sr?: UpscaleMethod;
  size?: number;
  minScore?: number;
  split?: 'train' | 'test' | 'all';
  /** Seeded random sample of this many images per split. */
  limit?: number;
  seed?: number;
  noMask?: boolean;
  boxModelDir?: string;
  modelsDir?: string;
  log?: (msg: string) => void;
  onDetect?: (done: number, total: number, found: number) => void;
  onCrop?: (done: number, total: number) => void;
}

export interface RunDetectResult extends DetectSummary {
  written: { train: number; test: number; fallback: number };
  detectSeconds: number;
  cropSeconds: number;
}

/**
 * `plumage detect` as one library call (what an experiment runner uses to build a preprocessed dataset): detects
 * the birds (resumable), writes the COCO JSON and overlays, then the DACON folder of crops at `output`
 * (train.csv, test.csv, classes.txt), and detect_summary.json. Call selectBackend() first.
 */
export async function runDetect(o: RunDetectOptions): Promise<RunDetectResult> {
  const mode = o.mode ?? 'contour';
  if (![...CROP_MODES, 'none'].includes(mode)) throw new UserError(`--mode: unknown mode '${mode}' (expected ${CROP_MODES.join(', ')} or none)`);
  const split = o.split ?? 'all';
  if (!['train', 'test', 'all'].includes(split)) throw new UserError(`--split: expected train, test or all (got '${split}')`);
  const minScore = o.minScore ?? 0.3;
  if (!(minScore > 0 && minScore < 1)) throw new UserError(`--min-score: expected a number in (0, 1) (got ${minScore})`);
  const full = loadLabelledDataset(o.data);
  const sample = (ds: Dataset): Dataset => (o.limit ? { ...ds, samples: new Rng(o.seed ?? 0).shuffle([...ds.samples]).slice(0, o.limit) } : ds);
  const train = split === 'test' ? { ...full, samples: [] } : sample(full);
  const test = split !== 'train' && fs.existsSync(path.join(o.data, 'test.csv')) ? sample(loadDaconTest(o.data, full.classes)) : undefined;
  const output = path.resolve(o.output);
  const t0 = Date.now();
  const det = await detectBirdsInDataset([...train.samples, ...(test?.samples ?? [])], output, {
    minScore,
    noMask: o.noMask,
    boxModelDir: o.boxModelDir,
    modelsDir: o.modelsDir,
    log: o.log,
    onProgress: o.onDetect,
  });
  const t1 = Date.now();
  const written = await writePreprocessedDataset(output, train, test, det.byId, { mode, sr: o.sr, size: o.size ?? 64, onProgress: o.onCrop });
  const result: RunDetectResult = { ...det.summary, written, detectSeconds: (t1 - t0) / 1000, cropSeconds: (Date.now() - t1) / 1000 };
  writeFileAtomic(path.join(output, 'detect_summary.json'), JSON.stringify({ data: o.data, mode, sr: o.sr ?? null, minScore, ...result }, null, 2) + '\n');
  return result;
}

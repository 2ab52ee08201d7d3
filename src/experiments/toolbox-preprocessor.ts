import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { loadDaconTest } from '../data/dacon.js';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { datasetDetections } from '../preprocess/dataset-detections.js';
import { boxOverlayPng } from '../preprocess/detect-dataset.js';
import { writePreprocessedDataset } from '../preprocess/preprocess-dataset.js';
import { selectBackend } from '../runtime/backend.js';
import { loadRunData } from '../train/data-split.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import type { Preprocessor } from './preprocess-hook.js';

/**
 * The experiment runner's preprocessing step on plumage's toolbox (src/preprocess): a variant's `preprocess:` block
 * becomes a DACON folder of detection crops (modes contour / pad / keep-aspect / resize, the names of `plumage detect
 * --mode`, optionally super-resolved) or of super-resolved whole images, which the variant then trains and predicts on.
 * Detection runs once per dataset (shared by every crop mode, folder `_preprocessed/detections-<hash>`); `on` limits
 * the step to some of train / val / test (val = the run's own validation split, so the split stays the same).
 * Super-resolved images are kept at x4 (256px for 64px images); crops without super-resolution at 64px.
 */
export const toolboxPreprocessor: Preprocessor = async ({ spec, cfg, outDir, log }) => {
  if (spec.scale !== undefined && spec.scale !== 4) throw new UserError(`preprocess.scale: ${spec.scale}: images are super-resolved x4 (the ESRGAN models' x4 variants)`);
  if (cfg.valData) throw new UserError(`preprocess: a variant with valData (${cfg.valData}) cannot be preprocessed; validate on a split of data (valFraction or folds) instead`);
  const mode = spec.detect ? spec.detect.mode : 'none';
  const sr = spec.detect?.sr ?? spec.sr;
  await selectBackend(cfg.backend, log);
  const full = loadLabelledDataset(cfg.data);
  const test = fs.existsSync(path.join(cfg.data, 'test.csv')) ? loadDaconTest(cfg.data, full.classes) : undefined;
  const on = new Set(spec.on);
  const valIds = new Set(loadRunData({ ...cfg, predictTest: false }).val.samples.map((s) => s.id));
  const apply = (split: 'train' | 'test', s: { id: string }) => (split === 'test' ? on.has('test') : on.has(valIds.has(s.id) ? 'val' : 'train'));
  const notes: Record<string, number | string> = {};
  const images: string[] = [];
  let byId = new Map();
  const t0 = Date.now();
  if (spec.detect) {
    const key = createHash('sha256').update(JSON.stringify({ data: path.resolve(cfg.data) })).digest('hex').slice(0, 12);
    const shared = path.join(path.dirname(outDir), `detections-${key}`);
    const det = await datasetDetections(shared, full, on.has('test') ? test : undefined, { modelsDir: cfg.modelsDir, log });
    byId = det.byId;
    notes.birdsFoundOn256pxCopies = `${det.train.copy.found}/${det.train.copy.images}`;
    if (det.test) {
      notes.birdsFoundOnUpscaledTest = `${det.test.upscaled.found}/${det.test.upscaled.images + det.test.boxModel.images}`;
      notes.testBoxesFromBoxModel = det.test.boxModel.images;
    }
    if (det.boxModelHeldOutIoU !== undefined) notes.boxModelHeldOutIoU = Number(det.boxModelHeldOutIoU.toFixed(3));
    const overlay = path.join(outDir, 'boxes.png');
    writeFileAtomic(overlay, await boxOverlayPng([...det.byId.values()].slice(0, 36)));
    images.push(overlay);
  }
  notes.detectSeconds = Math.round((Date.now() - t0) / 1000);
  const t1 = Date.now();
  let lastLog = 0;
  const written = await writePreprocessedDataset(outDir, full, test, byId, {
    mode,
    sr,
    size: sr ? 256 : 64,
    apply,
    onProgress: (done, total) => {
      if (Date.now() - lastLog < 30_000 && done !== total) return;
      lastLog = Date.now();
      const s = (Date.now() - t1) / 1000;
      log(`preprocess ${mode}${sr ? ` + ${sr}` : ''}: ${done}/${total} images | ${(done / Math.max(s, 1e-3)).toFixed(1)} img/s | ETA ${Math.round(((total - done) * s) / Math.max(done, 1))} s`);
    },
  });
  if (spec.detect) notes.noBirdFallbacks = written.fallback;
  notes.preprocessSeconds = Math.round((Date.now() - t1) / 1000);
  return { overrides: { data: outDir }, images, notes };
};

import fs from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../util/random.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { loadBoxModel, predictBoxes, saveBoxModel, trainBoxModel } from './box-model.js';
import { boxOnImage, type DetectionRecord } from './detect-birds.js';
import { detectBirdsInDataset, type DetectSummary } from './detect-dataset.js';
import { decodeRgb } from './upscale.js';

/** A log line every `every` images with the rate and an ETA (detection takes minutes on a dataset). */
function progressLog(what: string, log: (m: string) => void, every = 500): (done: number, total: number, found: number) => void {
  const t0 = Date.now();
  return (done, total, found) => {
    if (done % every !== 0 && done !== total) return;
    const s = (Date.now() - t0) / 1000;
    const rate = done / Math.max(s, 1e-3);
    log(`${what}: ${done}/${total} images, bird on ${found} | ${rate.toFixed(1)} img/s | ETA ${Math.round((total - done) / Math.max(rate, 1e-9))} s`);
  };
}

export interface DatasetDetectionsOptions {
  minScore?: number;
  /** Pseudo-boxes the low-resolution box model trains on (seeded sample of the training images' boxes). */
  boxModelSamples?: number;
  boxModelEpochs?: number;
  modelsDir?: string;
  log?: (message: string) => void;
}

export interface DatasetDetections {
  byId: Map<string, DetectionRecord>;
  train: DetectSummary;
  test?: DetectSummary;
  /** The box model's mean IoU on held-out training images against the detector's 256px boxes. */
  boxModelHeldOutIoU?: number;
  boxModelDir?: string;
}

function iou(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.w * a.h + b.w * b.h - inter || 1);
}

/**
 * The seed's detection pipeline for one dataset, kept in `dir` and shared by every crop mode that uses it: the COCO
 * detector on the training images' 256px copies (pseudo-boxes), a low-resolution box model trained on those boxes
 * at 64px ("fine-tuned for low resolution"; 10% held out for its IoU), then the test images, which have no 256px
 * copy: the detector on the x4 image, and the box model where it finds no bird. Every stage is cached in `dir`
 * (detections.jsonl per split, box-model/, box-model.json), so a re-run or another crop mode detects nothing again.
 */
export async function datasetDetections(dir: string, train: Dataset, test: Dataset | undefined, o: DatasetDetectionsOptions = {}): Promise<DatasetDetections> {
  const minScore = o.minScore ?? 0.3;
  const log = o.log ?? (() => {});
  log(`detect: COCO SSDLite on ${train.samples.length} training images (256px copies) -> ${dir}/train`);
  const tr = await detectBirdsInDataset(train.samples, path.join(dir, 'train'), { minScore, modelsDir: o.modelsDir, onProgress: progressLog('detect train', log) });
  const out: DatasetDetections = { byId: new Map(tr.byId), train: tr.summary };
  if (!test || test.samples.length === 0) return out;
  const boxDir = path.join(dir, 'box-model');
  const infoFile = path.join(dir, 'box-model.json');
  if (!fs.existsSync(infoFile)) {
    const recs = tr.records.filter((r) => r.source === 'copy' && r.box).sort((a, b) => a.id.localeCompare(b.id));
    const order = new Rng(0).shuffle(recs.map((_, i) => i));
    const nHold = Math.max(1, Math.round(recs.length * 0.1));
    const hold = order.slice(0, nHold).map((i) => recs[i]!);
    const use = order.slice(nHold, nHold + (o.boxModelSamples ?? 4000)).map((i) => recs[i]!);
    const load = async (r: DetectionRecord) => ({ rgb: (await decodeRgb(r.file)).rgb, box: boxOnImage(r).box });
    const epochs = o.boxModelEpochs ?? 15;
    log(`detect: training the 64px box model on ${use.length} pseudo-boxes (${hold.length} held out), ${epochs} epochs`);
    const model = await trainBoxModel(await Promise.all(use.map(load)), { epochs, seed: 0, onEpoch: (e, l) => log(`box model epoch ${e}/${epochs}: L1 ${l.toFixed(4)}`) });
    const held = await Promise.all(hold.map(load));
    const pred = predictBoxes(model, held.map((h) => h.rgb));
    const meanIoU = pred.reduce((a, p, i) => a + iou(p, held[i]!.box), 0) / pred.length;
    await saveBoxModel(model, boxDir);
    writeFileAtomic(infoFile, JSON.stringify({ trainBoxes: use.length, heldOut: hold.length, epochs, meanIoU }, null, 2) + '\n');
    log(`detect: box model mean IoU on ${hold.length} held-out 64px images: ${meanIoU.toFixed(3)}`);
  }
  out.boxModelHeldOutIoU = (JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { meanIoU: number }).meanIoU;
  out.boxModelDir = boxDir;
  log(`detect: ${test.samples.length} test images (64px x4, box model where no bird is found) -> ${dir}/test`);
  const te = await detectBirdsInDataset(test.samples, path.join(dir, 'test'), { minScore, modelsDir: o.modelsDir, boxModelDir: boxDir, onProgress: progressLog('detect test', log) });
  for (const [k, v] of te.byId) out.byId.set(k, v);
  out.test = te.summary;
  return out;
}

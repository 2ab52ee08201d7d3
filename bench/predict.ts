/**
 * bench:predict — offline prediction throughput (images/s, forward passes on decoded birds25-mini images, batch 64)
 * of the same network on the tfjs torch backend and on ONNX Runtime (its plumage ONNX export), interleaved in one
 * process so load from other jobs hits both alike; plus load times (checkpoint -> ready, and the ONNX export on first
 * use) and the agreement of the two (top-1, max abs probability difference). Models: resnet-mini at 64px and the
 * fine-tuned MobileNetV2 graph at 128px (pretrained backbone), random heads (speed does not depend on the weights' values).
 * Writes bench/results/predict.json.
 *
 *   npm run bench:predict [-- --rounds 5] [-- --images 512] [-- --threads 2] [-- --models resnet-mini,mobilenetv2-inat-birds] [-- --out predict]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { getArchitecture } from '../src/models/index.js';
import { PixelCache } from '../src/data/pixel-cache.js';
import { readCsv } from '../src/data/csv.js';
import { Predictor } from '../src/predict/predictor.js';
import { selectBackend } from '../src/runtime/backend.js';
import { saveCheckpoint } from '../src/runs/checkpoint.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const rounds = Number(opt('--rounds', '5'));
const nImages = Number(opt('--images', '512'));
const threads = Number(opt('--threads', '2'));
const models = opt('--models', 'resnet-mini,mobilenetv2-inat-birds').split(',');
const outName = opt('--out', 'predict');
const mini = path.resolve(root, '..', 'shared', 'data', 'birds25-mini');
process.env.PLUMAGE_THREADS ??= String(threads);

const backend = await selectBackend('auto');
const classes = fs.readFileSync(path.join(mini, 'classes.txt'), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
const files = readCsv(path.join(mini, 'val.csv'), ['img_path']).map((r) => path.join(mini, r.img_path!));
const rows = [];
const load0 = os.loadavg()[0]!;
for (const name of models) {
  const arch = getArchitecture(name);
  const inputSize = arch.inputSize;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `plumage-bench-predict-${name}-`));
  const model = await arch.build({ numClasses: classes.length, inputSize, seed: 1 });
  // The fine-tune head starts at zero (uniform probabilities): random values make the parity check mean something.
  const head = model.layers.at(-1)!;
  head.setWeights(head.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.05, 'float32', 7 + i)));
  await saveCheckpoint(path.join(dir, 'weights', 'best.ckpt'), model, { model: name, numClasses: classes.length, inputSize, classes });
  model.dispose();
  let t = performance.now();
  const tfjs = await Predictor.load(dir, { runtime: 'tfjs' });
  const tfjsLoadS = (performance.now() - t) / 1000;
  t = performance.now();
  const onnxFirst = await Predictor.load(dir, { runtime: 'onnx', threads });
  const onnxFirstLoadS = (performance.now() - t) / 1000;
  onnxFirst.dispose();
  t = performance.now();
  const onnx = await Predictor.load(dir, { runtime: 'onnx', threads });
  const onnxLoadS = (performance.now() - t) / 1000;
  const cache = new PixelCache();
  const decoded = await Promise.all(files.map((f) => cache.load(f, tfjs.decodeSize)));
  const pixels = Array.from({ length: nImages }, (_, i) => decoded[i % decoded.length]!);
  // Warm-up, and agreement on the 200 distinct images.
  const a = await tfjs.predictPixels(decoded, { topK: 1 });
  const b = await onnx.predictPixels(decoded, { topK: 1 });
  let maxDiff = 0;
  for (let i = 0; i < a.probs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.probs[i]! - b.probs[i]!));
  const top1Agree = a.top.filter((r, i) => r[0]!.index === b.top[i]![0]!.index).length / a.top.length;
  const speeds: Record<'tfjs' | 'onnx', number[]> = { tfjs: [], onnx: [] };
  for (let r = 0; r < rounds; r++) {
    for (const [k, p] of [['tfjs', tfjs], ['onnx', onnx]] as const) {
      const t0 = performance.now();
      await p.predictPixels(pixels, { topK: 1 });
      speeds[k].push(nImages / ((performance.now() - t0) / 1000));
    }
  }
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  const row = {
    model: name,
    inputSize,
    batch: 64,
    images: nImages,
    rounds,
    tfjs: { backend, imagesPerS: median(speeds.tfjs), perRound: speeds.tfjs.map((s) => Number(s.toFixed(1))), loadS: tfjsLoadS },
    onnx: { imagesPerS: median(speeds.onnx), perRound: speeds.onnx.map((s) => Number(s.toFixed(1))), loadS: onnxLoadS, firstLoadWithExportS: onnxFirstLoadS },
    ratioOnnxOverTfjs: median(speeds.onnx) / median(speeds.tfjs),
    parity: { images: decoded.length, top1Agreement: top1Agree, maxAbsProbDiff: maxDiff },
  };
  console.log(JSON.stringify(row));
  rows.push(row);
  tfjs.dispose();
  onnx.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}
const out = {
  command: `npm run bench:predict -- ${argv.join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  threads: { torch: process.env.PLUMAGE_THREADS, onnxIntraOp: threads },
  loadAverage1m: { start: load0, end: os.loadavg()[0] },
  note: 'forward passes on decoded pixels (decode excluded, identical for both); median of interleaved rounds',
  rows,
};
fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench', 'results', `${outName}.json`), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote bench/results/${outName}.json`);

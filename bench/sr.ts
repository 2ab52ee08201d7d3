/**
 * Super-resolution quality and speed on birds25 train: each sampled image's 256px copy is reduced to 64px with
 * lanczos3 (as the dataset's 64px images were made), upscaled x4 by every method, and compared with the real 256px
 * copy (PSNR over RGB, SSIM per channel, see src/eval/image-quality.ts). Methods run interleaved per image so their
 * speeds are measured under the same load; each ESRGAN model is warmed up once before timing.
 *
 *   npm run bench:sr -- [--n 200] [--seed 0] [--data ../shared/data/birds25] [--backend torch]
 * Writes bench/results/sr.md, sr.json and sr-samples.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCsv } from '../src/data/csv.js';
import { imageGridPng, type GridTile } from '../src/util/image-grid.js';
import { psnr, ssim } from '../src/eval/image-quality.js';
import { decodeRgb, resizeRgb, UPSCALE_METHODS, upscaleRgb, type RgbImage } from '../src/preprocess/upscale.js';
import { selectBackend, type BackendName } from '../src/runtime/backend.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { Rng } from '../src/util/random.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const n = Number(arg('n', '200'));
const seed = Number(arg('seed', '0'));
const data = arg('data', '../shared/data/birds25');
const backend = await selectBackend(arg('backend', 'torch') as BackendName);
const csv = path.join(data, 'train.csv');
if (!fs.existsSync(csv)) {
  console.error(`bench:sr: ${csv} not found (the birds25 dataset is needed)`);
  process.exit(2);
}
const rows = readCsv(csv, ['id', 'upscale_img_path']);
const picked = new Rng(seed).shuffle(rows.map((_, i) => i)).slice(0, n).map((i) => rows[i]!);
const methods = UPSCALE_METHODS;
const stats = Object.fromEntries(methods.map((m) => [m, { psnr: [] as number[], ssim: [] as number[], ms: 0 }]));
const load = [os.loadavg()[0]!];
const samples: GridTile[] = [];

// warm-up: model loading and the first (slow) forward pass are not timed
const warm = await decodeRgb(path.resolve(data, picked[0]!.upscale_img_path!));
for (const m of methods) await upscaleRgb(await resizeRgb(warm, 64, 64, 'lanczos3'), m, 4);

const t0 = Date.now();
for (let k = 0; k < picked.length; k++) {
  const row = picked[k]!;
  const hr = await decodeRgb(path.resolve(data, row.upscale_img_path!));
  const lr = await resizeRgb(hr, Math.round(hr.width / 4), Math.round(hr.height / 4), 'lanczos3');
  const order = k % 2 === 0 ? methods : [...methods].reverse();
  const outs: Record<string, RgbImage> = {};
  for (const m of order) {
    const s = performance.now();
    const sr = await upscaleRgb(lr, m, 4);
    stats[m]!.ms += performance.now() - s;
    const ref = sr.width === hr.width && sr.height === hr.height ? hr : await resizeRgb(hr, sr.width, sr.height, 'lanczos3');
    stats[m]!.psnr.push(psnr(sr.rgb, ref.rgb));
    stats[m]!.ssim.push(ssim(sr.rgb, ref.rgb, sr.width, sr.height));
    outs[m] = sr;
  }
  if (k < 4) {
    samples.push({ ...hr, caption: `${row.id}\n256px copy` }, { ...lr, caption: '64px (lanczos)' });
    for (const m of methods) samples.push({ ...outs[m]!, caption: `${m} x4\n${stats[m]!.psnr.at(-1)!.toFixed(2)} dB` });
  }
  if ((k + 1) % 20 === 0) {
    load.push(os.loadavg()[0]!);
    console.error(`bench:sr ${k + 1}/${picked.length} (${((Date.now() - t0) / 1000).toFixed(0)} s, load ${os.loadavg()[0]!.toFixed(2)})`);
  }
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
const result = {
  n: picked.length,
  seed,
  data,
  backend,
  threads: os.cpus().length,
  loadAverage1m: { min: Math.min(...load), max: Math.max(...load) },
  wallSeconds: (Date.now() - t0) / 1000,
  methods: methods.map((m) => ({
    method: m,
    psnr: mean(stats[m]!.psnr),
    psnrStd: std(stats[m]!.psnr),
    ssim: mean(stats[m]!.ssim),
    ssimStd: std(stats[m]!.ssim),
    imagesPerSecond: picked.length / (stats[m]!.ms / 1000),
  })),
};
const out = path.join('bench', 'results');
writeFileAtomic(path.join(out, 'sr.json'), JSON.stringify(result, null, 2) + '\n');
const md = [
  '# Super-resolution on birds25 train (`npm run bench:sr`)',
  '',
  `${result.n} training images (seed ${seed}): 256px copy -> 64px (sharp lanczos3) -> x4 -> compared with the 256px copy.`,
  `PSNR over RGB (dB), SSIM per channel (11x11 Gaussian, sigma 1.5), mean ± std over images. Speed = 64->256 upscales per second`,
  `of one process on the ${backend} backend (${result.threads} cores; 1-minute load average ${result.loadAverage1m.min.toFixed(1)}-${result.loadAverage1m.max.toFixed(1)} during the run, the machine was shared);`,
  'methods ran interleaved per image, so the speed ratios are the steadier figures.',
  '',
  '| method | PSNR (dB) | SSIM | images/s |',
  '|---|---|---|---|',
  ...result.methods.map((r) => `| ${r.method} | ${r.psnr.toFixed(2)} ± ${r.psnrStd.toFixed(2)} | ${r.ssim.toFixed(4)} ± ${r.ssimStd.toFixed(4)} | ${r.imagesPerSecond.toFixed(2)} |`),
  '',
  `Wall time ${result.wallSeconds.toFixed(0)} s. Examples: sr-samples.png (rows: 256px copy, 64px input, then each method).`,
  '',
];
writeFileAtomic(path.join(out, 'sr.md'), md.join('\n'));
writeFileAtomic(path.join(out, 'sr-samples.png'), await imageGridPng(samples, { cols: 2 + methods.length, cell: 160, title: 'x4 super-resolution: 256px copy, 64px input, methods' }));
console.log(md.join('\n'));

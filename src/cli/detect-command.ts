import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { loadDaconTest } from '../data/dacon.js';
import type { Dataset } from '../data/dataset.js';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { CROP_MODES } from '../preprocess/crop.js';
import { detectBirdsInDataset } from '../preprocess/detect-dataset.js';
import { type PreprocessMode, writePreprocessedDataset } from '../preprocess/preprocess-dataset.js';
import { checkUpscaleMethod } from '../preprocess/upscale.js';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { mergeOptions, readConfigFile } from './config-file.js';
import { parseInteger, parseNumber } from './parse-number.js';

interface DetectOptions {
  data?: string;
  output?: string;
  mode?: string;
  sr?: string;
  size?: number;
  minScore?: number;
  split?: string;
  limit?: number;
  seed?: number;
  modelsDir?: string;
  backend?: BackendName;
  mask?: boolean;
  boxModel?: string;
}

function bar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { format: `${label} |{bar}| {value}/{total} | {rate} img/s | {extra} | ETA {eta_formatted}`, barsize: 24, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 15000 },
    cliProgress.Presets.shades_classic,
  );
}

export function detectCommand(): Command {
  return new Command('detect')
    .description('find the bird on each image (COCO SSDLite on the 256px copies), save COCO JSON + box overlays, and write a cropped (optionally super-resolved) DACON dataset folder')
    .option('--config <file>', 'YAML/JSON file with any of these options (flags override it)')
    .option('--data <dir>', 'DACON folder with train.csv (+ test.csv) (default ../shared/data/birds25)')
    .option('--output <dir>', 'output folder: detections.jsonl, coco.json, coco_source.json, boxes.png, train/, test/, train.csv, test.csv')
    .option('--mode <m>', `crop mode: ${CROP_MODES.join(' | ')} | none (whole image) (default contour)`)
    .option('--sr <method>', 'super-resolve each crop x4 before the final resize (esrgan-slim | esrgan-medium | esrgan-thick | bicubic | lanczos)')
    .option('--size <px>', 'output image side (default 64)', parseInteger)
    .option('--min-score <s>', "bird score needed to accept a box (default 0.3); below it the crop is the whole image", parseNumber)
    .option('--split <s>', 'train | test | all (default all)')
    .option('--limit <n>', 'only a seeded random sample of n images per split (quick looks, hit-rate estimates)', parseInteger)
    .option('--seed <s>', 'seed of that sample (default 0)', parseInteger)
    .option('--box-model <dir>', 'saved low-resolution box model (npm run bench:boxes -- --save DIR): boxes for images without a 256px copy come from it instead of the detector on x4 images')
    .option('--no-mask', 'skip GrabCut (contour crops then use the whole box)')
    .option('--models-dir <dir>', 'model cache folder (default $PLUMAGE_CACHE or ~/.cache/plumage)')
    .option('--backend <name>', 'auto | torch | wasm | cpu (default auto)')
    .action(async (flags: Record<string, unknown>) => {
      const { config, ...rest } = flags;
      const o = mergeOptions(typeof config === 'string' ? readConfigFile(config) : {}, rest) as DetectOptions;
      if (!o.output) throw new UserError('detect: --output is required');
      const mode = (o.mode ?? 'contour') as PreprocessMode;
      if (![...CROP_MODES, 'none'].includes(mode)) throw new UserError(`--mode: unknown mode '${mode}' (expected ${CROP_MODES.join(', ')} or none)`);
      const sr = o.sr ? checkUpscaleMethod(o.sr) : undefined;
      const split = o.split ?? 'all';
      if (!['train', 'test', 'all'].includes(split)) throw new UserError(`--split: expected train, test or all (got '${split}')`);
      const minScore = o.minScore ?? 0.3;
      if (!(minScore > 0 && minScore < 1)) throw new UserError(`--min-score: expected a number in (0, 1) (got ${minScore})`);
      const data = o.data ?? '../shared/data/birds25';
      const full = loadLabelledDataset(data);
      const sample = (ds: Dataset): Dataset => (o.limit ? { ...ds, samples: new Rng(o.seed ?? 0).shuffle([...ds.samples]).slice(0, o.limit) } : ds);
      const train = split === 'test' ? { ...full, samples: [] } : sample(full);
      const hasTest = fs.existsSync(path.join(data, 'test.csv'));
      const test = split !== 'train' && hasTest ? sample(loadDaconTest(data, full.classes)) : undefined;
      const output = path.resolve(o.output);
      await selectBackend(o.backend ?? 'auto');

      const b1 = bar('detect');
      const all = [...train.samples, ...(test?.samples ?? [])];
      b1.start(all.length, 0, { rate: '-', extra: 'birds 0' });
      const t0 = Date.now();
      const det = await detectBirdsInDataset(all, output, {
        minScore,
        noMask: o.mask === false,
        boxModelDir: o.boxModel,
        modelsDir: o.modelsDir,
        log: (m) => console.error(m),
        onProgress: (done, _total, found) => b1.update(done, { rate: (done / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(2), extra: `birds ${found}` }),
      });
      b1.stop();

      const b2 = bar(`crop ${mode}${sr ? ` + ${sr}` : ''}`);
      b2.start(all.length, 0, { rate: '-', extra: '' });
      const t1 = Date.now();
      const written = await writePreprocessedDataset(output, train, test, det.byId, {
        mode,
        sr,
        size: o.size ?? 64,
        onProgress: (done) => b2.update(done, { rate: (done / Math.max(1e-3, (Date.now() - t1) / 1000)).toFixed(2), extra: '' }),
      });
      b2.stop();
      const summary = { data, mode, sr: sr ?? null, minScore, ...det.summary, written, detectSeconds: (Date.now() - t0 - (Date.now() - t1)) / 1000, cropSeconds: (Date.now() - t1) / 1000 };
      writeFileAtomic(path.join(output, 'detect_summary.json'), JSON.stringify(summary, null, 2) + '\n');
      const s = det.summary;
      console.log(`detect: bird found on ${s.copy.found}/${s.copy.images} 256px copies, ${s.upscaled.found}/${s.upscaled.images} x4-upscaled images without a copy (score >= ${minScore})${s.boxModel.images ? `, ${s.boxModel.images} boxes from the box model` : ''}; ${written.fallback} images fell back to the whole image`);
      console.log(`wrote ${output}: coco.json, coco_source.json, boxes.png, train.csv (${written.train})${written.test ? `, test.csv (${written.test})` : ''}`);
    });
}

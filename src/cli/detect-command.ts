import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { CROP_MODES } from '../preprocess/crop.js';
import type { PreprocessMode } from '../preprocess/preprocess-dataset.js';
import { runDetect } from '../preprocess/run-detect.js';
import { checkUpscaleMethod } from '../preprocess/upscale.js';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';
import { mergeOptions, readConfigFile } from '../util/config-file.js';
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
    .option('--min-score <s>', 'bird score needed to accept a box (default 0.3); below it the crop is the whole image', parseNumber)
    .option('--split <s>', 'train | test | all (default all)')
    .option('--limit <n>', 'only a seeded random sample of n images per split (quick looks, hit-rate estimates)', parseInteger)
    .option('--seed <s>', 'seed of that sample (default 0)', parseInteger)
    .option('--box-model <dir>', 'saved low-resolution box model (npm run bench:boxes -- --save DIR): images without a 256px copy where the detector on the x4 image finds no bird get its box')
    .option('--no-mask', 'skip GrabCut (contour crops then use the whole box)')
    .option('--models-dir <dir>', 'model cache folder (default $PLUMAGE_CACHE or ~/.cache/plumage)')
    .option('--backend <name>', 'auto | torch | wasm | cpu (default auto)')
    .action(async (flags: Record<string, unknown>) => {
      const { config, ...rest } = flags;
      const o = mergeOptions(typeof config === 'string' ? readConfigFile(config) : {}, rest) as DetectOptions;
      if (!o.output) throw new UserError('detect: --output is required');
      const sr = o.sr ? checkUpscaleMethod(o.sr) : undefined;
      const mode = (o.mode ?? 'contour') as PreprocessMode;
      await selectBackend(o.backend ?? 'auto');
      const b1 = bar('detect');
      const b2 = bar(`crop ${mode}${sr ? ` + ${sr}` : ''}`);
      let t0 = Date.now();
      let started = 0;
      const r = await runDetect({
        data: o.data ?? '../shared/data/birds25',
        output: o.output,
        mode,
        sr,
        size: o.size,
        minScore: o.minScore,
        split: o.split as 'train' | 'test' | 'all' | undefined,
        limit: o.limit,
        seed: o.seed,
        noMask: o.mask === false,
        boxModelDir: o.boxModel,
        modelsDir: o.modelsDir,
        log: (m) => console.error(m),
        onDetect: (done, total, found) => {
          if (!started++) b1.start(total, 0, { rate: '-', extra: 'birds 0' });
          b1.update(done, { rate: (done / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(2), extra: `birds ${found}` });
          if (done === total) {
            b1.stop();
            t0 = Date.now();
          }
        },
        onCrop: (done, total) => {
          if (done === 1) b2.start(total, 0, { rate: '-', extra: '' });
          b2.update(done, { rate: (done / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(2), extra: '' });
          if (done === total) b2.stop();
        },
      });
      const minScore = o.minScore ?? 0.3;
      console.log(`detect: bird found on ${r.copy.found}/${r.copy.images} 256px copies, ${r.upscaled.found}/${r.upscaled.images + r.boxModel.images} x4-upscaled images without a copy (score >= ${minScore})${r.boxModel.images ? `, ${r.boxModel.images} boxes from the box model` : ''}; ${r.written.fallback} images fell back to the whole image`);
      console.log(`wrote ${path.resolve(o.output)}: coco.json, coco_source.json, boxes.png, train.csv (${r.written.train})${r.written.test ? `, test.csv (${r.written.test})` : ''}`);
    });
}

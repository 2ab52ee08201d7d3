import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { ESRGAN_METHODS } from '../preprocess/esrgan.js';
import { checkScale, checkUpscaleMethod, UPSCALE_METHODS } from '../preprocess/upscale.js';
import { listUpscaleInputs, upscaleImages } from '../preprocess/upscale-images.js';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';
import { mergeOptions, readConfigFile } from '../util/config-file.js';
import { parseInteger } from './parse-number.js';

export function upscaleCommand(): Command {
  return new Command('upscale')
    .description('super-resolve images (a folder, recursively, or a CSV with img_path) into --output as PNG; resumable: finished outputs are skipped')
    .option('--config <file>', 'YAML/JSON file with any of these options (flags override it)')
    .option('--input <path>', 'image folder or CSV (img_path column, relative to the CSV)')
    .option('--output <dir>', 'output folder (mirrors the input names, .png)')
    .option('--method <name>', `${UPSCALE_METHODS.join(' | ')} (default esrgan-slim)`)
    .option('--scale <k>', '2 | 3 | 4 (default 4)', parseInteger)
    .option('--tile <px>', 'ESRGAN tile size in input pixels; larger images are tiled with 8 px overlap (default 128)', parseInteger)
    .option('--backend <name>', 'auto | torch | wasm | cpu (ESRGAN only; default auto)')
    .action(async (flags: Record<string, unknown>) => {
      const { config, ...rest } = flags;
      const o = mergeOptions(typeof config === 'string' ? readConfigFile(config) : {}, rest) as { input?: string; output?: string; method?: string; scale?: number; tile?: number; backend?: BackendName };
      if (!o.input) throw new UserError('upscale: --input is required (a folder or a CSV)');
      if (!o.output) throw new UserError('upscale: --output is required');
      const method = checkUpscaleMethod(o.method ?? 'esrgan-slim');
      const scale = checkScale(o.scale ?? 4);
      const tile = o.tile ?? 128;
      if (!(tile >= 16)) throw new UserError(`--tile: must be at least 16 (got ${tile})`);
      const jobs = listUpscaleInputs(o.input);
      if ((ESRGAN_METHODS as readonly string[]).includes(method)) await selectBackend(o.backend ?? 'auto');
      const bar = new cliProgress.SingleBar(
        { format: `upscale ${method} x${scale} |{bar}| {value}/{total} | {rate} img/s | skipped {skipped} | ETA {eta_formatted}`, barsize: 24, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 15000 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(jobs.length, 0, { skipped: 0, rate: '-' });
      const t0 = Date.now();
      const r = await upscaleImages(jobs, path.resolve(o.output), {
        method,
        scale,
        tile,
        onProgress: (done, _total, skipped) => bar.update(done, { skipped, rate: ((done - skipped) / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(2) }),
      });
      bar.stop();
      console.log(`upscale: ${r.written} written, ${r.skipped} already done, ${r.seconds.toFixed(1)} s -> ${path.resolve(o.output)}`);
    });
}

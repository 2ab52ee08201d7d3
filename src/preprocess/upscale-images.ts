import fs from 'node:fs';
import path from 'node:path';
import { readCsv } from '../data/csv.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { decodeRgb, encodePng, type UpscaleMethod, upscaleRgb } from './upscale.js';

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif|bmp)$/i;

export interface UpscaleJob {
  /** Absolute input image path. */
  input: string;
  /** Output path relative to the output folder (input's relative path, extension .png). */
  rel: string;
}

/** Lists the images of a folder (recursively) or of a CSV's `img_path` column, with their output names. */
export function listUpscaleInputs(input: string): UpscaleJob[] {
  if (!fs.existsSync(input)) throw new UserError(`--input: '${input}' does not exist`);
  const toPng = (rel: string) => rel.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\.[^./]+$/, '') + '.png';
  if (input.endsWith('.csv')) {
    const dir = path.dirname(path.resolve(input));
    const rows = readCsv(input, ['img_path']);
    if (rows.length === 0) throw new UserError(`${input}: no rows after the header`);
    const seen = new Map<string, number>();
    return rows.map((r, i) => {
      const abs = path.resolve(dir, r.img_path!);
      if (!fs.existsSync(abs)) throw new UserError(`${input}: row ${i + 2}: img_path '${r.img_path}' does not exist`);
      // paths outside the CSV's folder keep only their file name, so nothing is written outside --output
      const inside = path.relative(dir, abs);
      const rel = toPng(inside.startsWith('..') || path.isAbsolute(inside) ? path.basename(abs) : inside);
      const prev = seen.get(rel);
      if (prev !== undefined) throw new UserError(`${input}: rows ${prev} and ${i + 2} would both be written to ${rel}`);
      seen.set(rel, i + 2);
      return { input: abs, rel };
    });
  }
  if (!fs.statSync(input).isDirectory()) throw new UserError(`--input: '${input}' is neither a folder nor a .csv file`);
  const root = path.resolve(input);
  const out: UpscaleJob[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXT.test(e.name)) out.push({ input: p, rel: toPng(path.relative(root, p)) });
    }
  };
  walk(root);
  if (out.length === 0) throw new UserError(`--input: no images found in ${input}`);
  return out;
}

export interface UpscaleImagesOptions {
  method: UpscaleMethod;
  scale: number;
  /** ESRGAN tile size in input pixels (larger images are tiled; default 128). */
  tile?: number;
  onProgress?: (done: number, total: number, skipped: number) => void;
}

/**
 * Upscales every job into `outputDir/<rel>`; resumable: outputs that already exist are skipped (each is written
 * atomically, so an existing file is always complete). Returns how many were written and skipped.
 */
export async function upscaleImages(jobs: UpscaleJob[], outputDir: string, opts: UpscaleImagesOptions): Promise<{ written: number; skipped: number; seconds: number }> {
  let written = 0;
  let skipped = 0;
  const t0 = Date.now();
  for (const job of jobs) {
    const target = path.join(outputDir, job.rel);
    if (fs.existsSync(target)) skipped++;
    else {
      const img = await decodeRgb(job.input);
      const up = await upscaleRgb(img, opts.method, opts.scale, opts.tile);
      writeFileAtomic(target, await encodePng(up));
      written++;
    }
    opts.onProgress?.(written + skipped, jobs.length, skipped);
  }
  return { written, skipped, seconds: (Date.now() - t0) / 1000 };
}

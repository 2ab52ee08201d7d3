/**
 * Predicts a resolved input list with one or several Predictors (soft vote), reading images in chunks; an image that
 * cannot be read is recorded (or, with `strict`, stops everything) and the others go on.
 */
import cliProgress from 'cli-progress';
import { PixelCache } from '../data/pixel-cache.js';
import { UserError } from '../util/errors.js';
import type { InputItem } from './inputs.js';
import type { Predictor } from './predictor.js';

export interface Failure {
  id: string;
  path: string;
  reason: string;
}

export interface EnsembleResult {
  /** Items that were read, in input order. */
  items: InputItem[];
  /** Averaged softmax probabilities [items x classes]. */
  probs: Float32Array;
  failures: Failure[];
}

const CHUNK = 256;

export async function predictItems(
  predictors: Predictor[],
  items: InputItem[],
  opts: { tta?: boolean; strict?: boolean; progress?: boolean; cache?: PixelCache },
): Promise<EnsembleResult> {
  const c = predictors[0]!.classes.length;
  const cache = opts.cache ?? new PixelCache();
  const sizes = [...new Set(predictors.map((p) => p.decodeSize))];
  const bar = new cliProgress.SingleBar(
    { format: 'predict |{bar}| {value}/{total} images | {speed} img/s | ETA {eta_formatted}', barsize: 24, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 15000 },
    cliProgress.Presets.shades_classic,
  );
  if (opts.progress) bar.start(items.length, 0, { speed: '-' });
  const t0 = performance.now();
  const ok: InputItem[] = [];
  const failures: Failure[] = [];
  const parts: Float32Array[] = [];
  for (let s = 0; s < items.length; s += CHUNK) {
    const chunk = items.slice(s, s + CHUNK);
    // Decode each image once per decode size; a failure at any size drops the image.
    const pixels = new Map<number, (Uint8Array | undefined)[]>(sizes.map((z) => [z, []]));
    for (const size of sizes) {
      const out = pixels.get(size)!;
      await Promise.all(
        chunk.map(async (item, i) => {
          try {
            out[i] = await cache.load(item.path, size);
          } catch (err) {
            out[i] = undefined;
            if (!(err instanceof UserError)) throw err;
            if (size === sizes[0]) failures.push({ id: item.id, path: item.path, reason: err.message });
          }
        }),
      );
    }
    const good = chunk.map((_, i) => i).filter((i) => sizes.every((z) => pixels.get(z)![i]));
    if (opts.strict && good.length < chunk.length) {
      const first = chunk.find((_, i) => !good.includes(i))!;
      const f = failures.find((x) => x.path === first.path) ?? { reason: `${first.path}: cannot be read` };
      if (opts.progress) bar.stop();
      throw new UserError(`--strict: stopped at the first unreadable image: ${f.reason}`);
    }
    const sum = new Float32Array(good.length * c);
    for (const p of predictors) {
      const px = good.map((i) => pixels.get(p.decodeSize)![i]!);
      const { probs } = await p.predictPixels(px, { tta: opts.tta, topK: 1 });
      for (let i = 0; i < sum.length; i++) sum[i]! += probs[i]! / predictors.length;
    }
    parts.push(sum);
    ok.push(...good.map((i) => chunk[i]!));
    if (opts.progress) bar.update(Math.min(items.length, s + CHUNK), { speed: (Math.min(items.length, s + CHUNK) / ((performance.now() - t0) / 1000)).toFixed(0) });
  }
  if (opts.progress) bar.stop();
  failures.sort((a, b) => items.findIndex((x) => x.path === a.path) - items.findIndex((x) => x.path === b.path));
  const probs = new Float32Array(ok.length * c);
  let o = 0;
  for (const p of parts) {
    probs.set(p, o);
    o += p.length;
  }
  return { items: ok, probs, failures };
}

/**
 * A trained run, loaded once, that classifies images: `Predictor.load(run)` then `predict(images)` -> softmax
 * probabilities and top-k labels. Used by `plumage predict`, `plumage serve` and the tests. Images are encoded files
 * (Buffer/Uint8Array: JPEG, PNG, WebP...), raw pixels, or pixels already decoded at `decodeSize`.
 */
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../data/decode.js';
import { UserError } from '../util/errors.js';
import type { CacheOptions } from '../weights/index.js';
import { defaultExportDir, EXPORT_FILE, exportMetadata, exportModel, readExportMetadata, resolveCheckpoint, sha256File } from '../export/index.js';
import { checkOnnxExportable } from '../export/onnx.js';
import { type Engine, loadOrt, OnnxEngine, ortLoadError, type RuntimeName, TfjsEngine } from './engines.js';
import { loadRun } from '../runs/load-run.js';
import { decodeSizeFor, toBatch } from '../augment/model-input.js';

export type RuntimeChoice = 'auto' | RuntimeName;
export const RUNTIMES: readonly RuntimeChoice[] = ['auto', 'tfjs', 'onnx'];

export interface PredictorOptions {
  /** auto (default): ONNX Runtime when it loads and the architecture exports to ONNX, else tfjs. */
  runtime?: RuntimeChoice;
  /** Where the run's ONNX export lives or is written on first use (default <run>/export/onnx). */
  onnxDir?: string;
  /** ONNX Runtime intra-op threads (default: ORT's, one per core). */
  threads?: number;
  /** Images per forward pass (default 64). */
  batchSize?: number;
  weights?: CacheOptions;
  log?: (msg: string) => void;
}

/** Raw pixels (e.g. from a canvas or sharp): HWC uint8, any size, 1 (grey), 3 (RGB) or 4 (RGBA) channels. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

export interface TopK {
  index: number;
  label: string;
  prob: number;
}

export interface PredictResult {
  /** Softmax probabilities, row-major [images x classes]. */
  probs: Float32Array;
  /** The k most probable classes per image, most probable first. */
  top: TopK[][];
}

export interface PredictCallOptions {
  /** Average the softmax of each image and its mirror image. */
  tta?: boolean;
  /** Labels per image in `top` (default 5, at most the number of classes). */
  topK?: number;
}

/** Row-wise softmax of logits, computed in float64. */
export function softmaxRows(logits: Float32Array, c: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / c; r++) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, logits[r * c + j]!);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(logits[r * c + j]! - max);
    for (let j = 0; j < c; j++) out[r * c + j] = Math.exp(logits[r * c + j]! - max) / sum;
  }
  return out;
}

export function topKRows(probs: Float32Array, classes: string[], k: number): TopK[][] {
  const c = classes.length;
  const kk = Math.max(1, Math.min(k, c));
  return Array.from({ length: probs.length / c }, (_, r) => {
    const row = Array.from(probs.subarray(r * c, (r + 1) * c), (prob, index) => ({ index, label: classes[index]!, prob }));
    return row.sort((a, b) => b.prob - a.prob || a.index - b.index).slice(0, kk);
  });
}

export class Predictor {
  private constructor(
    private readonly engine: Engine,
    readonly classes: string[],
    readonly inputSize: number,
    /** Architecture id (`resnet-mini`, `transfer-full:mobilenetv2-inat-birds`...). */
    readonly architecture: string,
    readonly checkpoint: string,
    readonly batchSize: number,
    /** The run folder's name (a model id for APIs and logs). */
    readonly id: string,
  ) {}

  /** What an API reports about the loaded model. */
  info(): { id: string; architecture: string; runtime: RuntimeName; classes: string[]; inputSize: number; decodeSize: number; checkpoint: string } {
    return { id: this.id, architecture: this.architecture, runtime: this.runtime, classes: this.classes, inputSize: this.inputSize, decodeSize: this.decodeSize, checkpoint: this.checkpoint };
  }

  /** Side the images are decoded at (pass pixels of this side to predictPixels). */
  get decodeSize(): number {
    return decodeSizeFor(this.inputSize);
  }

  get runtime(): RuntimeName {
    return this.engine.runtime;
  }

  /** The tfjs model when running on tfjs (for Grad-CAM and the like); undefined on ONNX Runtime. */
  get layersModel(): tfl.LayersModel | undefined {
    return this.engine instanceof TfjsEngine ? this.engine.model : undefined;
  }

  static async load(run: string, opts: PredictorOptions = {}): Promise<Predictor> {
    const log = opts.log ?? (() => {});
    const runtime = opts.runtime ?? 'auto';
    if (!RUNTIMES.includes(runtime)) throw new UserError(`--runtime: unknown runtime '${runtime}' (expected one of ${RUNTIMES.join(', ')})`);
    const checkpoint = resolveCheckpoint(run);
    const bs = opts.batchSize ?? 64;
    const id = path.basename(run.endsWith('.ckpt') ? path.dirname(path.dirname(path.resolve(run))) : path.resolve(run));
    if (runtime !== 'tfjs') {
      const ort = await loadOrt();
      if (!ort) {
        if (runtime === 'onnx') throw new UserError(`--runtime onnx: onnxruntime-node is not available (${ortLoadError()})`);
        log(`predict: onnxruntime-node unavailable (${ortLoadError()}); using tfjs`);
      } else {
        const dir = opts.onnxDir ?? defaultExportDir(run, 'onnx');
        const file = path.join(dir, EXPORT_FILE.onnx);
        const sha = sha256File(checkpoint);
        const meta = readExportMetadata(dir);
        if (meta && meta.checkpointSha256 === sha && meta.format === 'onnx') {
          return new Predictor(await OnnxEngine.open(file, opts.threads), meta.classes, meta.inputSize, meta.model, checkpoint, bs, id);
        }
        const loaded = await loadRun(checkpoint, 'best', opts.weights);
        try {
          checkOnnxExportable(loaded.model, loaded.meta.model);
        } catch (err) {
          if (runtime === 'onnx' || !(err instanceof UserError)) throw err;
          log(`predict: ${err.message.split(':').slice(1, 2).join('').trim()}; using tfjs`);
          return new Predictor(new TfjsEngine(loaded.model), loaded.meta.classes, loaded.meta.inputSize, loaded.meta.model, checkpoint, bs, id);
        }
        const em = exportMetadata('onnx', loaded.meta, checkpoint);
        let written: string;
        try {
          written = await exportModel(loaded.model, em, dir);
        } catch (err) {
          // A read-only run folder: export beside the temp files instead.
          const tmp = path.join(os.tmpdir(), `plumage-onnx-${sha.slice(0, 16)}`);
          log(`predict: cannot write ${dir} (${(err as Error).message.split('\n')[0]}); exporting to ${tmp}`);
          written = await exportModel(loaded.model, em, tmp);
        }
        loaded.model.dispose();
        log(`predict: exported ${written} (ONNX, on first use)`);
        return new Predictor(await OnnxEngine.open(written, opts.threads), em.classes, em.inputSize, em.model, checkpoint, bs, id);
      }
    }
    const loaded = await loadRun(checkpoint, 'best', opts.weights);
    return new Predictor(new TfjsEngine(loaded.model), loaded.meta.classes, loaded.meta.inputSize, loaded.meta.model, checkpoint, bs, id);
  }

  /** Decodes one image (encoded bytes or raw pixels) to RGB at decodeSize; a UserError naming `source` if it cannot. */
  async decode(image: Uint8Array | RawImage, source = 'image'): Promise<Uint8Array> {
    if (image instanceof Uint8Array) return decodeImage(image, this.decodeSize, source);
    const { data, width, height, channels } = image;
    if (data.length !== width * height * channels) throw new UserError(`${source}: raw image has ${data.length} bytes, expected ${width}x${height}x${channels}`);
    const png = await sharp(data, { raw: { width, height, channels } }).png({ compressionLevel: 0 }).toBuffer();
    return decodeImage(png, this.decodeSize, source);
  }

  /** Probabilities and top-k for encoded images or raw pixels (decoded first; a bad one throws naming `image <i>`). */
  async predict(images: (Uint8Array | RawImage)[], opts: PredictCallOptions = {}): Promise<PredictResult> {
    const pixels = await Promise.all(images.map((im, i) => this.decode(im, `image ${i}`)));
    return this.predictPixels(pixels, opts);
  }

  /** Probabilities and top-k for RGB HWC uint8 images already at decodeSize (what `decode` returns). */
  async predictPixels(pixels: Uint8Array[], opts: PredictCallOptions = {}): Promise<PredictResult> {
    const c = this.classes.length;
    const src = this.decodeSize;
    const probs = new Float32Array(pixels.length * c);
    const views = opts.tta ? [false, true] : [false];
    pixels.forEach((p, i) => {
      if (p.length !== src * src * 3) throw new UserError(`image ${i}: ${p.length} bytes, expected ${src}x${src}x3 (decode it first)`);
    });
    for (let s = 0; s < pixels.length; s += this.batchSize) {
      const chunk = pixels.slice(s, s + this.batchSize);
      for (const flip of views) {
        const p = softmaxRows(await this.engine.logits(toBatch(chunk, src, this.inputSize, flip), chunk.length, this.inputSize), c);
        for (let i = 0; i < p.length; i++) probs[s * c + i]! += p[i]! / views.length;
      }
    }
    return { probs, top: topKRows(probs, this.classes, opts.topK ?? 5) };
  }

  /** Raw logits for NHWC float32 batches at inputSize (parity tests, benchmarks). */
  logits(batch: Float32Array, n: number): Promise<Float32Array> {
    return this.engine.logits(batch, n, this.inputSize);
  }

  dispose(): void {
    this.engine.dispose();
  }
}

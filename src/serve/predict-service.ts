import { MicroBatcher, type BatchInfo } from './batcher.js';
import { decodeUpload, type DecodedUpload, type DecodeLimits } from './decode-upload.js';
import type { ModelRunner } from './model-runner.js';
import type { ServeMetrics } from './metrics.js';
import type { UploadedImage } from './request-images.js';

export interface TopClass {
  label: string;
  classIndex: number;
  probability: number;
}

export interface ImagePrediction {
  name: string;
  width: number;
  height: number;
  top: TopClass[];
}

export interface PredictResult {
  model: string;
  predictions: ImagePrediction[];
  timing: { decodeMs: number; queueMs: number; inferenceMs: number; totalMs: number; batchSize: number };
}

/** Decodes uploads, queues them into the micro-batcher, and returns each image's top-k classes. */
export class PredictService {
  readonly batcher: MicroBatcher<Uint8Array, Float32Array>;

  constructor(
    readonly runner: ModelRunner,
    readonly limits: DecodeLimits,
    batch: { maxBatch: number; maxWaitMs: number; maxQueue: number },
    private readonly metrics: ServeMetrics,
  ) {
    const k = runner.classes.length;
    this.batcher = new MicroBatcher(async (images: Uint8Array[]) => {
      const probs = await runner.predict(images);
      return images.map((_, i) => probs.subarray(i * k, (i + 1) * k));
    }, batch);
    this.batcher.onBatch = (size, ms) => {
      metrics.batchSize.observe(size);
      metrics.batchSeconds.observe(ms / 1000);
      metrics.images.inc(size);
    };
  }

  async decode(uploads: UploadedImage[]): Promise<DecodedUpload[]> {
    return Promise.all(uploads.map((u) => decodeUpload(u.bytes, this.runner.srcSize, this.limits, u.name)));
  }

  async predict(uploads: UploadedImage[], topK: number): Promise<PredictResult> {
    const t0 = performance.now();
    return this.predictDecoded(uploads, await this.decode(uploads), topK, t0);
  }

  /** Top-k of already decoded uploads (t0: when the request's work began, for the timing). */
  async predictDecoded(uploads: UploadedImage[], decoded: DecodedUpload[], topK: number, t0: number): Promise<PredictResult> {
    const t1 = performance.now();
    this.metrics.queueDepth.set(this.batcher.depth + decoded.length);
    const results = await this.batcher.submit(decoded.map((d) => d.pixels));
    this.metrics.queueDepth.set(this.batcher.depth);
    const info: BatchInfo = results.reduce((a, r) => ({ batchSize: Math.max(a.batchSize, r.info.batchSize), queueMs: Math.max(a.queueMs, r.info.queueMs), inferenceMs: Math.max(a.inferenceMs, r.info.inferenceMs) }), { batchSize: 0, queueMs: 0, inferenceMs: 0 });
    return {
      model: this.runner.id,
      predictions: results.map((r, i) => ({ name: uploads[i]!.name, width: decoded[i]!.width, height: decoded[i]!.height, top: topClasses(r.output, this.runner.classes, topK) })),
      timing: { decodeMs: round(t1 - t0), queueMs: round(info.queueMs), inferenceMs: round(info.inferenceMs), totalMs: round(performance.now() - t0), batchSize: info.batchSize },
    };
  }
}

export function topClasses(probs: Float32Array, classes: string[], k: number): TopClass[] {
  return Array.from(probs, (p, i) => ({ label: classes[i]!, classIndex: i, probability: p }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.min(k, classes.length));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { softVote } from '../../eval/soft-vote.js';
import { smoothedTargets } from '../soft-cross-entropy.js';
import type { Batch, SplitName, TrainTask } from '../task.js';

/** Cached frozen-backbone outputs of one split: one row matrix per view. */
export interface FeatureSplit {
  /** Per view, [n * dim] rows. */
  views: Float32Array[];
  labels?: number[];
}

export interface FeatureTaskOptions {
  model: tfl.LayersModel;
  paramGroups: TrainTask['paramGroups'];
  numClasses: number;
  /** Shape of one row ([c] for embeddings, [h, w, c] for block activations). */
  shape: number[];
  /** Every training view of every image is a sample. */
  train: FeatureSplit & { labels: number[] };
  /** Evaluation views: [image, image.flip]. */
  val: FeatureSplit;
  test?: FeatureSplit;
  labelSmoothing: number;
  /** Applied to rows before the model sees them (the probe's standardization). */
  transform?: (rows: Float32Array) => Float32Array;
  meta: Record<string, unknown>;
}

/** Training on cached features (partial: block activations; probe: embeddings). */
export class FeatureTask implements TrainTask {
  readonly model: tfl.LayersModel;
  readonly paramGroups: TrainTask['paramGroups'];
  readonly meta: Record<string, unknown>;
  private readonly dim: number;
  constructor(private readonly o: FeatureTaskOptions) {
    this.model = o.model;
    this.paramGroups = o.paramGroups;
    this.meta = o.meta;
    this.dim = o.shape.reduce((a, b) => a * b, 1);
  }

  numSamples(): number {
    return this.o.train.labels.length * this.o.train.views.length;
  }

  async batch(indices: number[]): Promise<Batch> {
    const n = this.o.train.labels.length;
    const x = new Float32Array(indices.length * this.dim);
    const labels = indices.map((r, i) => {
      const view = Math.floor(r / n);
      const idx = r % n;
      x.set(this.o.train.views[view]!.subarray(idx * this.dim, (idx + 1) * this.dim), i * this.dim);
      return this.o.train.labels[idx]!;
    });
    const rows = this.o.transform ? this.o.transform(x) : x;
    return { x: tf.tensor(rows, [indices.length, ...this.o.shape]), y: smoothedTargets(labels, this.o.numClasses, this.o.labelSmoothing), rows: indices.length };
  }

  private probs(rows: Float32Array): Float32Array {
    const n = rows.length / this.dim;
    const out = new Float32Array(n * this.o.numClasses);
    for (let s = 0; s < n; s += 256) {
      const e = Math.min(n, s + 256);
      let chunk = rows.subarray(s * this.dim, e * this.dim);
      if (this.o.transform) chunk = this.o.transform(chunk.slice());
      const p = tf.tidy(() => tf.softmax(this.model.predict(tf.tensor(chunk, [e - s, ...this.o.shape])) as tf.Tensor2D));
      out.set(p.dataSync() as Float32Array, s * this.o.numClasses);
      p.dispose();
    }
    return out;
  }

  async predict(split: SplitName, tta: boolean): Promise<Float32Array> {
    const set = split === 'val' ? this.o.val : this.o.test;
    if (!set) throw new Error('no test images');
    const views = tta ? set.views : set.views.slice(0, 1);
    return softVote(views.map((v) => this.probs(v)));
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Classifier heads trained on cached features: softmax regression (logistic regression with weight decay) or a
 * one-hidden-layer MLP, trained with Adam in tfjs on standardized features.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/random.js';

export interface HeadOptions {
  kind: 'linear' | 'mlp';
  /** MLP hidden units (default 512). */
  hidden?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 penalty on the weights (added to the loss as weightDecay * sum(w^2) / 2). */
  weightDecay?: number;
  labelSmoothing?: number;
  /** MLP dropout on the hidden layer. */
  dropout?: number;
  seed?: number;
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface HeadState {
  kind: 'linear' | 'mlp';
  dim: number;
  numClasses: number;
  mean: number[];
  std: number[];
  /** Weight arrays in order: linear [W, b]; mlp [W1, b1, W2, b2]. */
  weights: { shape: number[]; data: number[] }[];
}

export class Head {
  private readonly vars: tf.Variable[];
  private readonly mean: tf.Tensor1D;
  private readonly std: tf.Tensor1D;
  constructor(readonly state: Omit<HeadState, 'weights'>, vars: tf.Variable[]) {
    this.vars = vars;
    this.mean = tf.tensor1d(state.mean);
    this.std = tf.tensor1d(state.std);
  }

  /** Logits for standardized input. */
  logits(xStd: tf.Tensor2D, training = false, dropout = 0): tf.Tensor2D {
    return tf.tidy(() => {
      if (this.state.kind === 'linear') return tf.add(tf.matMul(xStd, this.vars[0]!), this.vars[1]!) as tf.Tensor2D;
      let h = tf.relu(tf.add(tf.matMul(xStd, this.vars[0]!), this.vars[1]!)) as tf.Tensor2D;
      if (training && dropout > 0) h = tf.dropout(h, dropout) as tf.Tensor2D;
      return tf.add(tf.matMul(h, this.vars[2]!), this.vars[3]!) as tf.Tensor2D;
    });
  }

  standardize(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.div(tf.sub(x, this.mean), this.std) as tf.Tensor2D);
  }

  /** Class probabilities for raw features [n * dim]. */
  predict(features: Float32Array, batch = 1024): Float32Array {
    const n = features.length / this.state.dim;
    const out = new Float32Array(n * this.state.numClasses);
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      const p = tf.tidy(() => tf.softmax(this.logits(this.standardize(tf.tensor2d(features.subarray(s * this.state.dim, e * this.state.dim), [e - s, this.state.dim])))));
      out.set(p.dataSync() as Float32Array, s * this.state.numClasses);
      p.dispose();
    }
    return out;
  }

  weightsL2(): tf.Scalar {
    return tf.tidy(() => {
      const ws = this.state.kind === 'linear' ? [this.vars[0]!] : [this.vars[0]!, this.vars[2]!];
      return tf.addN(ws.map((w) => tf.sum(tf.square(w)))) as tf.Scalar;
    });
  }

  get variables(): tf.Variable[] {
    return this.vars;
  }

  toJSON(): HeadState {
    return { ...this.state, weights: this.vars.map((v) => ({ shape: v.shape, data: Array.from(v.dataSync()) })) };
  }

  static fromJSON(s: HeadState): Head {
    return new Head(
      { kind: s.kind, dim: s.dim, numClasses: s.numClasses, mean: s.mean, std: s.std },
      s.weights.map((w) => tf.variable(tf.tensor(w.data, w.shape))),
    );
  }

  dispose(): void {
    tf.dispose([...this.vars, this.mean, this.std]);
  }
}

function featureStats(x: Float32Array, n: number, dim: number): { mean: number[]; std: number[] } {
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) {
      const v = x[o + j]!;
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  const m: number[] = [];
  const s: number[] = [];
  for (let j = 0; j < dim; j++) {
    const mu = mean[j]! / n;
    m.push(mu);
    s.push(Math.sqrt(Math.max(sq[j]! / n - mu * mu, 0)) + 1e-3);
  }
  return { mean: m, std: s };
}

/** Trains a head on features [n * dim] with integer labels. */
export async function trainHead(features: Float32Array, labels: ArrayLike<number>, dim: number, numClasses: number, opts: HeadOptions): Promise<Head> {
  const n = labels.length;
  if (features.length !== n * dim) throw new Error(`trainHead: ${features.length} feature values for ${n} labels of dim ${dim}`);
  const seed = opts.seed ?? 1;
  const rng = new Rng(seed);
  const { mean, std } = featureStats(features, n, dim);
  const init = (shape: [number, number], fanIn: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(1 / fanIn), 'float32', seed + shape[1]));
  const vars =
    opts.kind === 'linear'
      ? [tf.variable(tf.zeros([dim, numClasses])), tf.variable(tf.zeros([numClasses]))]
      : [init([dim, opts.hidden ?? 512], dim), tf.variable(tf.zeros([opts.hidden ?? 512])), init([opts.hidden ?? 512, numClasses], opts.hidden ?? 512), tf.variable(tf.zeros([numClasses]))];
  const head = new Head({ kind: opts.kind, dim, numClasses, mean, std }, vars);
  const epochs = opts.epochs ?? 30;
  const bs = opts.batchSize ?? 256;
  const lr0 = opts.learningRate ?? 1e-3;
  const wd = opts.weightDecay ?? 1e-4;
  const ls = opts.labelSmoothing ?? 0;
  const optimizer = tf.train.adam(lr0);
  const steps = Math.ceil(n / bs) * epochs;
  let step = 0;
  const order = Array.from({ length: n }, (_, i) => i);
  const xb = new Float32Array(bs * dim);
  const yb = new Int32Array(bs);
  for (let ep = 0; ep < epochs; ep++) {
    rng.shuffle(order);
    let lossSum = 0;
    let batches = 0;
    for (let s = 0; s < n; s += bs) {
      const m = Math.min(bs, n - s);
      for (let i = 0; i < m; i++) {
        const r = order[s + i]!;
        xb.set(features.subarray(r * dim, (r + 1) * dim), i * dim);
        yb[i] = labels[r]!;
      }
      // cosine learning-rate decay
      (optimizer as unknown as { learningRate: number }).learningRate = lr0 * 0.5 * (1 + Math.cos((Math.PI * step) / steps));
      step++;
      const loss = optimizer.minimize(() => {
        const x = head.standardize(tf.tensor2d(xb.subarray(0, m * dim), [m, dim]));
        const y = tf.oneHot(tf.tensor1d(yb.subarray(0, m), 'int32'), numClasses);
        const logits = head.logits(x, true, opts.dropout ?? 0);
        const ce = tf.losses.softmaxCrossEntropy(y, logits, undefined, ls);
        return tf.add(ce, tf.mul(wd / 2, head.weightsL2())) as tf.Scalar;
      }, true, vars);
      lossSum += (await loss!.data())[0]!;
      loss!.dispose();
      batches++;
    }
    opts.onEpoch?.(ep + 1, lossSum / batches);
  }
  optimizer.dispose();
  return head;
}

/** Soft vote: (weighted) mean of probability matrices [n * classes]. */
export function softVote(probs: Float32Array[], weights?: number[]): Float32Array {
  if (probs.length === 0) throw new Error('softVote: nothing to vote');
  const n = probs[0]!.length;
  const out = new Float32Array(n);
  const w = weights ?? probs.map(() => 1);
  const tot = w.reduce((a, b) => a + b, 0);
  probs.forEach((p, k) => {
    if (p.length !== n) throw new Error('softVote: probability matrices differ in size');
    for (let i = 0; i < n; i++) out[i] += (w[k]! / tot) * p[i]!;
  });
  return out;
}
